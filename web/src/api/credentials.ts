/**
 * The session's credentials, outside React so the API client can read them on every request.
 *
 * The access token lives in memory only (never in storage a script could read later). The refresh token is the
 * server's HttpOnly, SameSite=Strict cookie (path /api/v1/auth): a page load or an expiring token gets a new
 * access token from POST /api/v1/auth/refresh, which only a same-site request can make and only this origin can
 * read the answer of. Refresh tokens rotate and a reused one revokes the session, so refreshes are serialized
 * across tabs with a Web Lock: each tab's refresh sends the cookie the previous one set.
 */

export interface TokenAnswer {
  accessToken: string;
  expiresIn: number;
}

const REFRESH_AHEAD_MS = 60_000;
const WORKSPACE_KEY = 'weir.workspace';
const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('weir-session') : null;

class Credentials {
  private token: string | null = null;
  private expiresAt = 0;
  private refreshing: Promise<boolean> | null = null;
  private readonly expiredListeners = new Set<() => void>();
  workspaceId: string | null = readStored(WORKSPACE_KEY);

  constructor() {
    // Signing out in one tab signs out all of them.
    channel?.addEventListener('message', (event: MessageEvent) => {
      if (event.data === 'signed-out') this.expired();
    });
  }

  get signedIn(): boolean {
    return this.token !== null;
  }

  set(answer: TokenAnswer): void {
    this.token = answer.accessToken;
    this.expiresAt = Date.now() + answer.expiresIn * 1000;
  }

  selectWorkspace(id: string | null): void {
    this.workspaceId = id;
    try {
      if (id) localStorage.setItem(WORKSPACE_KEY, id);
      else localStorage.removeItem(WORKSPACE_KEY);
    } catch {
      // storage disabled: the choice lasts for this page only
    }
  }

  /** A token valid for at least another minute, refreshing first when needed; null when signed out. */
  async freshToken(): Promise<string | null> {
    if (this.token === null) return null;
    if (this.expiresAt - Date.now() > REFRESH_AHEAD_MS) return this.token;
    await this.refresh();
    return this.token;
  }

  /** Exchanges the refresh cookie for a new access token; false when there is no valid session. */
  refresh(): Promise<boolean> {
    this.refreshing ??= withLock('weir-refresh', async () => {
      const response = await fetch('/api/v1/auth/refresh', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { accept: 'application/json' },
      }).catch(() => null);
      if (!response?.ok) {
        // A network failure keeps the current token (it may still work); a refusal ends the session.
        if (response) this.clear();
        return false;
      }
      this.set((await response.json()) as TokenAnswer);
      return true;
    }).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  clear(): void {
    this.token = null;
    this.expiresAt = 0;
  }

  /** The server refused the token (401): forget it and let the app show the sign-in page. */
  expired(): void {
    const was = this.token !== null;
    this.clear();
    if (was) for (const listener of this.expiredListeners) listener();
  }

  /** Tells the other tabs that this session ended. */
  broadcastSignOut(): void {
    channel?.postMessage('signed-out');
  }

  onExpired(listener: () => void): () => void {
    this.expiredListeners.add(listener);
    return () => this.expiredListeners.delete(listener);
  }

  /** Milliseconds until the token should be refreshed (for the silent-refresh timer). */
  refreshDueIn(): number {
    return Math.max(0, this.expiresAt - Date.now() - REFRESH_AHEAD_MS);
  }

  /** The current token as it is, for URLs (WebSocket) that are opened right away. */
  currentToken(): string | null {
    return this.token;
  }
}

function readStored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

async function withLock<T>(name: string, task: () => Promise<T>): Promise<T> {
  if (typeof navigator !== 'undefined' && navigator.locks) return navigator.locks.request(name, task);
  return task();
}

export const credentials = new Credentials();
