// A TypeScript consumer of the corio package, type-checked by scripts/test_node.sh with
//   tsc --strict --noEmit --module nodenext --moduleResolution nodenext --target es2022 consumer.ts
// against the installed package (its "exports" → import/require → "types": index.d.mts or
// index.d.cts), twice: as
// consumer.ts in a CommonJS package (what `npm init -y` makes) and as a copy consumer.mts (an
// ES module, which gets index.mjs at run time). Every `@ts-expect-error` must be an error: if the
// types were too loose (any), or described another module than the one Node loads, tsc fails
// on the unused directive.
import { load, packageDir } from 'corio';
import type { CallOptions, DemoModule, CorioModule } from 'corio';
import corioDefault from 'corio';

async function main(): Promise<void> {
  const demo: DemoModule = await load();

  const data: string = await demo.fetchData('api1', 10);
  const all: string[] = await demo.gatherData(['a', 'b'], [20, 10]);
  const done: string = await demo.waitFor(1, 100);
  const fromJs: string = await demo.callJs(() => Promise.resolve(42));
  const most: number = await demo.limited(10, 3, 20);
  await demo.sleep(5);
  await demo.fail('boom').catch((e: unknown) => (e instanceof Error ? e.message : String(e)));

  // CallOptions: an AbortSignal as the last argument of any call.
  const ac = new AbortController();
  const options: CallOptions = { signal: ac.signal };
  await demo.sleep(1000, options).catch(() => undefined);
  await demo.fetchData('x', 10, { signal: AbortSignal.timeout(100) });
  await demo.gatherData([], [], {});

  // An async iterator of numbers.
  let total: number = 0;
  for await (const n of demo.counter(3)) total += n;
  const it: AsyncIterableIterator<number> = demo.counter(2);
  const step: IteratorResult<number> = await it.next();

  // A module of one's own: its functions are the names it exported.
  const mine: CorioModule = await load(new URL('./examples/user_module.js', packageDir));
  const sum: unknown = await mine.add(2, 3);
  const viaDefault: DemoModule = await corioDefault.load();

  // @ts-expect-error: url is a string
  await demo.fetchData(1, 10);
  // @ts-expect-error: fetchData resolves with a string, not a number
  const wrong: number = await demo.fetchData('a', 1);
  // @ts-expect-error: gatherData takes the delays too
  await demo.gatherData(['a']);
  // @ts-expect-error: the signal must be an AbortSignal
  await demo.sleep(1, { signal: 'now' });
  // @ts-expect-error: the demo module has no such function (load() is not `any`)
  await demo.noSuchFunction();
  // @ts-expect-error: counter yields numbers
  for await (const s of demo.counter(1)) { const str: string = s; void str; }
  // @ts-expect-error: load takes a path or a URL
  await load(42);
  // @ts-expect-error: the default export is { load } and nothing else (index.mjs: `export default { load }`)
  const notOnDefault: string = corioDefault.packageDir;

  void [data, all, done, fromJs, most, total, step, sum, viaDefault, wrong, notOnDefault];
}

void main();
