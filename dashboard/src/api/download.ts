// Downloads that need the bearer token: a plain <a href> would not carry it, so the file is
// fetched with the Authorization header and saved through a Blob URL.
import { ApiError } from "./client";

export async function fetchBlob(token: string | null, url: string): Promise<Blob> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url, { headers });
  if (!res.ok) {
    let detail = res.statusText;
    try {
      const body = (await res.json()) as { detail?: unknown };
      if (typeof body.detail === "string") detail = body.detail;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, `${res.status} ${detail}`);
  }
  return res.blob();
}

/** Offer a blob as a file download named `name`. */
export function saveBlob(blob: Blob, name: string, doc: Document = document): void {
  const href = URL.createObjectURL(blob);
  const a = doc.createElement("a");
  a.href = href;
  a.download = name;
  a.rel = "noopener";
  doc.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

/** Only same-origin API paths are fetched with the token (never an absolute URL). */
export function isApiPath(url: string): boolean {
  return /^\/api\/[A-Za-z0-9/_.-]+$/.test(url) && !url.includes("..");
}
