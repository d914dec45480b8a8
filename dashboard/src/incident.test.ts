import { describe, expect, it } from "vitest";
import { evidenceRows, fmtEventWindow, fmtHosts, fmtParties } from "./incident";

describe("incident formatting", () => {
  it("shows the event-time window with its length", () => {
    expect(fmtEventWindow(1_400_000_000, 1_400_000_099)).toBe("2014-05-13 16:53:20Z – 16:54:59Z (1.7 min)");
    expect(fmtEventWindow(1_400_000_000, 1_400_000_000)).toBe("2014-05-13 16:53:20Z");
    expect(fmtEventWindow(1_400_000_000, 1_400_259_200)).toContain("2014-05-16 16:53:20Z (3 d)");
    expect(fmtEventWindow(null, null)).toBe("—");
  });
  it("names attackers and targets, or counts a flood's sources", () => {
    expect(fmtParties({ attackers: [], targets: ["10.10.10.10"], hosts: [], evidence: { sources: 4837 } })).toEqual({
      from: "4,837 sources",
      to: "10.10.10.10",
    });
    expect(fmtParties({ attackers: ["192.0.2.7"], targets: ["a", "b", "c", "d"], hosts: [], evidence: { targets: 300 } })).toEqual({
      from: "192.0.2.7",
      to: "a, b, … (300 hosts)",
    });
    expect(fmtParties({ attackers: [], targets: [], hosts: ["h1", "h2"], evidence: {} })).toEqual({ from: "h1, h2", to: "" });
    expect(fmtHosts(["a", "b", "c", "d", "e"], 4)).toBe("a, b, c, d +1");
  });
  it("lists the evidence with known keys first", () => {
    const rows = evidenceRows({ peak_dst_fanin_hosts: 150, sources: 4837, detections: 10005, top_ports: "80", x: null });
    expect(rows).toEqual([
      ["detections", "10,005"],
      ["sources", "4,837"],
      ["top ports", "80"],
      ["peak dst fanin hosts", "150"],
    ]);
  });
});
