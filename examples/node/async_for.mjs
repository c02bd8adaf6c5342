// A C++ AsyncGenerator as a JS async iterator: `for await` over demo.counter(n) gives 0 … n-1;
// `break` closes the generator in C++ (aclose()), and the iterator stays done. The JS side of
// examples/async_for.cpp.   node async_for.mjs
import { load } from 'corio';

const demo = await load();
for await (const value of demo.counter(5)) console.log(value);

const it = demo.counter(100);
for await (const value of it) {
  console.log(`early ${value}`);
  if (value === 2) break;
}
const { value, done } = await it.next();
console.log(`after break: value ${value}, done ${done}`);
