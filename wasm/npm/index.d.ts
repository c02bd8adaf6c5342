// Types of the corio npm package: load() and the demo module's exports.

/** The last argument every exported function accepts: an AbortSignal cancels the C++ task. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** The package's demo module: the seed's asyncio idioms, in C++ (wasm/js/demo/demo.cpp). */
export interface DemoModule {
  /** "Data from " + url, after ms. */
  fetchData(url: string, ms: number, options?: CallOptions): Promise<string>;
  /** The results in argument order, after the longest delay (corio::gather). */
  gatherData(urls: string[], delaysMs: number[], options?: CallOptions): Promise<string[]>;
  /** Rejects with Error(message). */
  fail(message: string, options?: CallOptions): Promise<void>;
  /** Resolves after ms; aborting the signal rejects with signal.reason. */
  sleep(ms: number, options?: CallOptions): Promise<void>;
  /** "done" if ms < timeoutMs, else rejects with an Error whose name is "TimeoutError". */
  waitFor(ms: number, timeoutMs: number, options?: CallOptions): Promise<string>;
  /** Awaits fn()'s Promise in C++: String(value), or "caught: " + the JsError's what(). */
  callJs(fn: () => unknown, options?: CallOptions): Promise<string>;
  /** n operations of ms each under Semaphore(limit): the most that ran at once. */
  limited(n: number, limit: number, ms: number, options?: CallOptions): Promise<number>;
  /** n tasks asleep for an hour, cancelled and awaited in C++: how many raised CancelledError. */
  cancelSleepers(n: number, options?: CallOptions): Promise<number>;
  /** corio::http::ClientSession on fetch(): the JSON at url, parsed in C++, as JSON text. */
  fetchJson(url: string, options?: CallOptions): Promise<string>;
  /** One request through corio::http (data: the body, if not empty): JSON text of
   * { status, reason, url, history (the redirects' statuses), contentType, body }. */
  httpRequest(method: string, url: string, data: string, options?: CallOptions): Promise<string>;
  /** n GETs at once on one corio::http session with `limit` and a total timeout (ms, 0: none):
   * JSON text of { ok, timeouts }. */
  sessionGets(url: string, n: number, limit: number, totalMs: number, options?: CallOptions): Promise<string>;
  /** The numbers 0 … n−1, from a C++ AsyncGenerator; break closes it. */
  counter(n: number): AsyncIterableIterator<number>;
}

/** A module built with corio: its export_async names, as async functions. */
export interface CorioModule {
  [name: string]: (...args: any[]) => any;
}

/** Loads the package's demo module. */
export function load(): Promise<DemoModule>;
/** Loads a module built with corio (its .js; the .wasm beside it). */
export function load(pathOrUrl: string | URL): Promise<CorioModule>;

declare const _default: { load: typeof load };
export default _default;
/** file: URL of the installed package's folder (where corio.js and examples/ are). */
export const packageDir: string;
