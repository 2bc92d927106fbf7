/** A thin API client: one error type whose message is the API's own, plus the field it names. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new CliError(`cannot reach the Tropic server at ${this.baseUrl}; is \`tropic serve\` running, and is --url right?`);
    }
    const text = await res.text();
    const data = text ? safeJson(text) : undefined;
    if (!res.ok) {
      const err = (data as { error?: { message?: string; field?: string } } | undefined)?.error;
      if (res.status === 401 && !this.token) throw new CliError("not signed in: run `tropic login` first (or set TROPIC_TOKEN)");
      const msg = err?.message ?? `${res.status} ${res.statusText}`;
      throw new CliError(err?.field && !msg.startsWith(err.field) ? `${msg} (field: ${err.field})` : msg);
    }
    return data as T;
  }
  /** GET of a file (not JSON): the body as text; errors as request() reports them. */
  async download(path: string): Promise<string> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), { headers: this.token ? { authorization: `Bearer ${this.token}` } : {} });
    } catch {
      throw new CliError(`cannot reach the Tropic server at ${this.baseUrl}; is \`tropic serve\` running, and is --url right?`);
    }
    const text = await res.text();
    if (res.ok) return text;
    const err = (safeJson(text) as { error?: { message?: string; field?: string } } | undefined)?.error;
    if (res.status === 401 && !this.token) throw new CliError("not signed in: run `tropic login` first (or set TROPIC_TOKEN)");
    throw new CliError(err?.message ?? `${res.status} ${res.statusText}`);
  }
  get = <T = unknown>(p: string) => this.request<T>("GET", p);
  post = <T = unknown>(p: string, b?: unknown) => this.request<T>("POST", p, b ?? {});
  patch = <T = unknown>(p: string, b: unknown) => this.request<T>("PATCH", p, b);
  put = <T = unknown>(p: string, b: unknown) => this.request<T>("PUT", p, b);
  del = <T = unknown>(p: string) => this.request<T>("DELETE", p);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: { message: text.slice(0, 200) } };
  }
}
