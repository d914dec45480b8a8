import { describe, expect, it } from "vitest";
import { initialToken, saveToken, tokenFromHash, type TokenStore } from "./auth";

class Mem implements TokenStore {
  m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
}

describe("token handling", () => {
  it("takes the token out of the fragment and keeps the rest", () => {
    expect(tokenFromHash("#token=abc&x=1")).toEqual({ token: "abc", rest: "#x=1" });
    expect(tokenFromHash("#token=abc")).toEqual({ token: "abc", rest: "" });
    expect(tokenFromHash("")).toEqual({ token: null, rest: "" });
    expect(tokenFromHash("#token=%20")).toEqual({ token: null, rest: "" });
  });
  it("prefers the fragment, stores it, falls back to the stored token", () => {
    const s = new Mem();
    expect(initialToken(s, { hash: "" })).toBeNull();
    expect(initialToken(s, { hash: "#token=t1" })).toBe("t1");
    expect(initialToken(s, { hash: "" })).toBe("t1");
    saveToken(s, null);
    expect(initialToken(s, { hash: "" })).toBeNull();
  });
});
