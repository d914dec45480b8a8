// The API token: from the URL fragment (#token=..., never sent to the server, then removed
// from the address bar) or typed in the login box; kept in sessionStorage for this tab.
const KEY = "fednids.token";

export interface TokenStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Take a token out of a URL fragment; returns it and the fragment left without it. */
export function tokenFromHash(hash: string): { token: string | null; rest: string } {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const token = params.get("token");
  params.delete("token");
  const rest = params.toString();
  return { token: token && token.trim() ? token.trim() : null, rest: rest ? `#${rest}` : "" };
}

export function initialToken(store: TokenStore, loc: Pick<Location, "hash">): string | null {
  const { token } = tokenFromHash(loc.hash);
  if (token) store.setItem(KEY, token);
  return token ?? store.getItem(KEY);
}

export function saveToken(store: TokenStore, token: string | null): void {
  if (token) store.setItem(KEY, token);
  else store.removeItem(KEY);
}
