/**
 * The signed-in admin's tokens and every call to the API. The access token lives in memory only;
 * the refresh token is rotated on every use exactly as POST /api/refresh-token does (the old one
 * stops working) and kept in sessionStorage so a reload of the tab stays signed in. A 401 on a
 * call refreshes once (one refresh at a time however many calls fail together) and retries; when
 * the refresh is refused the session ends and the app asks to sign in again.
 */

export interface ApiErrorBody {
  name?: string;
  message?: string;
  code?: number;
  type?: string;
  data?: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message ?? `HTTP ${status}`);
    this.name = "ApiError";
  }
}

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: string;
}

interface TokenAnswer {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export interface Storage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const REFRESH_KEY = "shop-admin.refresh";
const USER_KEY = "shop-admin.user";
/** Refresh this long before the access token runs out, so a call never goes out with a dead one. */
const EARLY_MS = 30_000;

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export class Session {
  private accessToken?: string;
  private expiresAt = 0;
  private refreshing?: Promise<boolean>;
  /** Told when the session ends on its own (a refused refresh). */
  onEnded?: () => void;

  constructor(
    private readonly fetchFn: Fetch,
    private readonly store: Storage,
    private readonly base = "/api",
    private readonly now: () => number = Date.now,
  ) {}

  get user(): SessionUser | null {
    const raw = this.store.getItem(USER_KEY);
    return raw ? (JSON.parse(raw) as SessionUser) : null;
  }

  get signedIn(): boolean {
    return Boolean(this.accessToken || this.store.getItem(REFRESH_KEY));
  }

  /** Signs in; a customer account is refused (its fresh refresh token is revoked at once). */
  async login(email: string, password: string): Promise<SessionUser> {
    const body = await this.raw<{ user: SessionUser } & TokenAnswer>("POST", "/user/login", {
      email,
      password,
    });
    if (body.user.role !== "admin") {
      await this.raw("POST", "/user/logout", { refreshToken: body.refreshToken }).catch(() => undefined);
      throw new ApiError(403, {
        name: "ForbiddenError",
        message: "This account is not an admin account",
        code: 403,
        type: "NOT_ADMIN",
      });
    }
    this.store.setItem(USER_KEY, JSON.stringify(body.user));
    this.keep(body);
    return body.user;
  }

  async logout(): Promise<void> {
    const refreshToken = this.store.getItem(REFRESH_KEY);
    this.clear();
    if (refreshToken) await this.raw("POST", "/user/logout", { refreshToken }).catch(() => undefined);
  }

  /** A valid access token, refreshed first when it is missing or about to run out. */
  async ensureFresh(): Promise<boolean> {
    if (this.accessToken && this.now() < this.expiresAt - EARLY_MS) return true;
    return this.refresh();
  }

  /** One refresh at a time: concurrent callers share it (a second use of a token revokes its family). */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** An authenticated call: JSON in and out; an error answer becomes an ApiError with its body. */
  async request<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    if (!(await this.ensureFresh())) throw this.ended();
    try {
      return await this.raw<T>(method, path, body, this.accessToken);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      // Revoked or expired early (a clock step, a restarted signer): refresh once and retry.
      if (!(await this.refresh())) throw this.ended();
      return this.raw<T>(method, path, body, this.accessToken);
    }
  }

  private async doRefresh(): Promise<boolean> {
    const refreshToken = this.store.getItem(REFRESH_KEY);
    if (!refreshToken) return false;
    try {
      this.keep(await this.raw<TokenAnswer>("POST", "/refresh-token", { refreshToken }));
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        this.clear();
        this.onEnded?.();
        return false;
      }
      throw err;
    }
  }

  private keep(tokens: TokenAnswer): void {
    this.accessToken = tokens.accessToken;
    this.expiresAt = this.now() + tokens.expiresIn * 1000;
    this.store.setItem(REFRESH_KEY, tokens.refreshToken);
  }

  private clear(): void {
    this.accessToken = undefined;
    this.expiresAt = 0;
    this.store.removeItem(REFRESH_KEY);
    this.store.removeItem(USER_KEY);
  }

  private ended(): ApiError {
    return new ApiError(401, {
      name: "UnAuthorizedError",
      message: "Your session has ended: sign in again",
      code: 401,
      type: "SESSION_ENDED",
    });
  }

  private async raw<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await this.fetchFn(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok)
      throw new ApiError(res.status, parsed && typeof parsed === "object" ? parsed : { message: text });
    return parsed as T;
  }
}
