/** The JSON client the suites share. */

/** What a test sees of an answer: status, raw text, parsed JSON body (if any), headers. */
export interface Res {
  status: number;
  text: string;
  body: any;
  headers: Headers;
}

/**
 * `http(method, path, body?, token?, headers?, timeoutMs?)` against `base()`: a function, since a
 * cluster's URL is known only once it has started. A string body goes as it is (for malformed
 * JSON), anything else as JSON; a token goes as a Bearer authorization.
 */
export function jsonClient(base: () => string, defaultTimeoutMs = 30_000) {
  return async (
    method: string,
    path: string,
    body?: unknown,
    token?: string,
    headers: Record<string, string> = {},
    timeoutMs = defaultTimeoutMs,
  ): Promise<Res> => {
    const res = await fetch(base() + path, {
      method,
      headers: {
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    return { status: res.status, text, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
}
