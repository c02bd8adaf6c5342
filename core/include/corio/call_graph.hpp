// The async call graph, as Python 3.14's asyncio.capture_call_graph / format_call_graph /
// print_call_graph show it: for a task, the chain of coroutines it is suspended in
// (innermost first) and, recursively, the tasks awaiting it. format_all_call_graphs() draws
// every task of a loop as one tree, like `python -m asyncio pstree`: what a stuck program
// is waiting on, without a debugger.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "corio/task.hpp"

namespace corio {

class EventLoop;

// One coroutine frame. `line` is where the coroutine is defined (gcc: its closing brace,
// clang: its opening): a frame does not record the line it is suspended at, which would
// cost every frame a field.
struct CallGraphFrame {
    std::string function;
    std::string file;
    std::uint32_t line = 0;
};

// asyncio's FutureCallGraph.
struct CallGraph {
    Task<> task;                             // empty when there was no task to look at
    std::vector<CallGraphFrame> call_stack;  // innermost first; empty once the task is done
    std::vector<CallGraph> awaited_by;       // tasks waiting for this one (await, gather, TaskGroup, shield)
};

// The graph of `task`, or of the current task when `task` is empty (then an empty graph
// outside any task, as asyncio returns None).
CallGraph capture_call_graph(const Task<>& task = {});
// asyncio.format_call_graph's text:
//   * Task(name='worker', id=2)
//   + Call stack:
//   |   File 'app.cpp', line 12, in async fetch()
//   |   File 'app.cpp', line 20, in async worker()
//   + Awaited by:
//      * Task(name='Task-1', id=1)
//         + Call stack:
//         |   File 'app.cpp', line 30, in async main()
// An empty string when there is no task.
std::string format_call_graph(const Task<>& task = {});
// format_call_graph() written to stdout.
void print_call_graph(const Task<>& task = {});

// Every pending task of the running loop (or of `loop`) as a tree: at the top the tasks
// nobody awaits, under each task its coroutines from the outermost in, and under the
// innermost one the tasks it awaits:
//   └── (T) Task-1
//       └──  main() app.cpp:30
//           └── (T) worker
//               └──  worker() app.cpp:20
//                   └──  fetch() app.cpp:12
// A task awaited by several is drawn in full under the first and named under the others; a
// cycle of awaits (a deadlock) is cut where it closes.
std::string format_all_call_graphs();
std::string format_all_call_graphs(EventLoop& loop);

namespace detail {
// A coroutine's name as diagnostics show it: __builtin_FUNCTION() without the template
// arguments gcc appends ("call_owned", not "call_owned<main()::<lambda()> >").
std::string coroutine_name(const char* function);
}  // namespace detail

}  // namespace corio
