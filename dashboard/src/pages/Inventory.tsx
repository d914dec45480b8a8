// The passive device inventory: every device each sensor learned about (DHCP, mDNS, SSDP,
// the services it answered on), newest first; vendor filter, search, cursor pages, and a
// detail row with the DHCP fingerprint and SSDP USNs. `assets` live frames refresh it.
import { useState, type FormEvent } from "react";
import { useAssets } from "../api/queries";
import type { AssetItem, AssetQuery } from "../api/types";
import { Badge, Card, Empty, ErrorBox, Pager } from "../components/ui";
import { usePager } from "../components/usePager";
import { fmtAgo } from "../format";

const PAGE = 50;

export const epochIso = (s: number): string => new Date(s * 1000).toISOString();
export const assetId = (a: Pick<AssetItem, "node_id" | "mac" | "ip">): string => `${a.node_id}/${a.mac ?? a.ip ?? "?"}`;

export function InventoryPage() {
  const pager = usePager();
  const [vendor, setVendor] = useState("");
  const [q, setQ] = useState("");
  const [draft, setDraft] = useState({ vendor: "", q: "" });
  const params: AssetQuery = { limit: PAGE, vendor: vendor || undefined, q: q || undefined, cursor: pager.cursor ?? undefined };
  const list = useAssets(params);
  const items = list.data?.items ?? [];
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setVendor(draft.vendor.trim());
    setQ(draft.q.trim());
    pager.reset();
  };
  return (
    <div className="grid">
      <Card title="Devices seen by the sensors" wide testId="inventory">
        <form className="filters" onSubmit={apply}>
          <label>
            Vendor{" "}
            <input value={draft.vendor} maxLength={100} onChange={(e) => setDraft({ ...draft, vendor: e.target.value })} data-testid="inventory-vendor" />
          </label>
          <label>
            Search{" "}
            <input
              value={draft.q}
              maxLength={100}
              placeholder="MAC, IP, name, vendor"
              onChange={(e) => setDraft({ ...draft, q: e.target.value })}
              data-testid="inventory-q"
            />
          </label>
          <button type="submit" data-testid="inventory-apply">
            Filter
          </button>
        </form>
        <ErrorBox error={list.error} />
        {items.length ? (
          <div className="scroll">
            <table data-testid="inventory-table">
              <thead>
                <tr>
                  <th>Node</th>
                  <th>MAC / IP</th>
                  <th>Vendor</th>
                  <th>Host name</th>
                  <th>IPs</th>
                  <th>mDNS names</th>
                  <th>SSDP server</th>
                  <th>Services</th>
                  <th>First seen</th>
                  <th>Last seen</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {items.map((a) => (
                  <AssetRow key={assetId(a)} a={a} />
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <Empty>{list.isLoading ? "Loading…" : vendor || q ? "No device matches." : "No sensor has reported a device yet."}</Empty>
        )}
        <Pager canBack={pager.canBack} next={list.data?.next_cursor} onBack={pager.back} onNext={() => pager.next(list.data?.next_cursor)} />
      </Card>
    </div>
  );
}

function AssetRow({ a }: { a: AssetItem }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <tr data-testid="asset-row" data-asset={assetId(a)}>
        <td className="mono">{a.node_id}</td>
        <td className="mono">{a.mac ?? a.ip ?? "—"}</td>
        <td data-testid="asset-vendor">{a.vendor ?? <span className="muted">unknown</span>}</td>
        <td>{a.hostname ?? "—"}</td>
        <td className="mono small">{a.ips.join(", ") || "—"}</td>
        <td className="small">{a.mdns_names.join(", ") || "—"}</td>
        <td className="small">{a.ssdp_server ?? "—"}</td>
        <td data-testid="asset-services">
          {a.services.map((s) => (
            <Badge key={`${s.proto}/${s.port}`} kind="service">
              {s.proto}/{s.port}
            </Badge>
          ))}
        </td>
        <td className="small" title={epochIso(a.first_seen)}>
          {fmtAgo(epochIso(a.first_seen))}
        </td>
        <td className="small" title={epochIso(a.last_seen)}>
          {fmtAgo(epochIso(a.last_seen))}
        </td>
        <td>
          <button type="button" className="linkish" onClick={() => setOpen(!open)} data-testid="asset-toggle">
            {open ? "Hide" : "Details"}
          </button>
        </td>
      </tr>
      {open ? (
        <tr data-testid="asset-detail">
          <td colSpan={11} className="small">
            <div>
              <strong>DHCP vendor class </strong>
              <span className="mono">{a.vendor_class ?? "—"}</span>
            </div>
            <div>
              <strong>DHCP parameter requests </strong>
              <span className="mono" data-testid="asset-prl">
                {a.dhcp_prl.join(",") || "—"}
              </span>
            </div>
            <div>
              <strong>SSDP USNs </strong>
              <span className="mono">{a.ssdp_usn.join(" · ") || "—"}</span>
            </div>
          </td>
        </tr>
      ) : null}
    </>
  );
}
