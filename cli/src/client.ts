/**
 * A thin API client. Errors: CliError, whose message is printed as is (each line its own; exit code
 * 2 for a mistake in the command line), and its subclass ApiError, an error answer of the API with
 * the field it names, which the command line turns into its own words (args.ts, inCliWords).
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The API's error shape: {"error": {"code", "message", "field"?, "details"?}}. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

const unreachable = (baseUrl: string) =>
  new CliError(`cannot reach the Tropic server at ${baseUrl}; is \`tropic serve\` running, and is --url right?`);

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
      throw unreachable(this.baseUrl);
    }
    const text = await res.text();
    if (!res.ok) throw this.failure(res, text);
    return (text ? safeJson(text) : undefined) as T;
  }

  /** GET of a file (not JSON): the body as text; errors as request() reports them. */
  async download(path: string): Promise<string> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), { headers: this.token ? { authorization: `Bearer ${this.token}` } : {} });
    } catch {
      throw unreachable(this.baseUrl);
    }
    const text = await res.text();
    if (res.ok) return text;
    throw this.failure(res, text);
  }

  private failure(res: Response, text: string): CliError {
    if (res.status === 401 && !this.token) return new CliError("not signed in: run `tropic login` first (or set TROPIC_TOKEN)");
    const err = (safeJson(text) as { error?: { code?: string; message?: string; field?: string; details?: unknown } } | undefined)?.error;
    return new ApiError(res.status, err?.code ?? "http_error", err?.message ?? `${res.status} ${res.statusText}`, err?.field, err?.details);
  }

  /** A POST whose answer is a text/event-stream: each event's JSON data, in order, until the server ends it. */
  async *events(path: string, signal?: AbortSignal): AsyncGenerator<Record<string, unknown>> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method: "POST",
        headers: this.token ? { authorization: `Bearer ${this.token}` } : {},
        ...(signal ? { signal } : {}),
      });
    } catch {
      throw unreachable(this.baseUrl);
    }
    if (!res.ok || !res.body) throw this.failure(res, await res.text());
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
        const data = buf
          .slice(0, i)
          .split("\n")
          .find((l) => l.startsWith("data: "));
        buf = buf.slice(i + 2);
        if (data) yield JSON.parse(data.slice(6)) as Record<string, unknown>;
      }
    }
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
