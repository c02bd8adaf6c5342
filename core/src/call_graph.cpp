// The call graph is read, never recorded: a task knows its innermost frame, every frame its
// awaiting coroutine (continuation_), and every future the waiters in its list, each of
// which can name the task it waits for. Nothing here runs unless asked.
#include "corio/call_graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdint>
#include <iterator>
#include <string_view>
#include <unordered_map>

#include "corio/coro.hpp"
#include "corio/event_loop.hpp"

namespace corio {

namespace {

using detail::TaskBase;

std::vector<CallGraphFrame> stack_of(const TaskBase& t) {
    std::vector<CallGraphFrame> out;
    for (void* f = t.innermost_frame(); f;) {
        const detail::PromiseBase& p = detail::promise_at(f);
        out.push_back(CallGraphFrame{detail::coroutine_name(p.function_), p.file_, p.line_});
        f = p.continuation_.address();
    }
    return out;
}

// The tasks waiting for `t`, each once, in the order they began to wait.
std::vector<TaskBase*> awaiters_of(const TaskBase& t) {
    std::vector<TaskBase*> out;
    using List = detail::WaitList<detail::FutureWaiter>;
    for (const detail::FutureWaiter* w = t.waiters().front(); w; w = List::next(*w)) {
        TaskBase* a = w->waiting_task();
        if (a && a != &t && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    }
    return out;
}

CallGraph capture(TaskBase& t, std::vector<const TaskBase*>& path) {
    CallGraph g;
    g.task = detail::task_handle<void>(&t);
    g.call_stack = stack_of(t);
    path.push_back(&t);
    for (TaskBase* a : awaiters_of(t))
        if (std::find(path.begin(), path.end(), a) == path.end()) g.awaited_by.push_back(capture(*a, path));
    path.pop_back();
    return g;
}

void render(const CallGraph& g, int level, std::string& out) {
    // Python's layout: four spaces per level of "awaited by".
    const std::string indent(static_cast<std::size_t>(level) * 4, ' ');
    auto line = [&](const std::string& s) {
        out += indent;
        out += s;
        out += '\n';
    };
    // The id is the task object's address, as Python prints id(task).
    line(fmt::format("* Task(name='{}', id={:#x})", g.task.get_name(), reinterpret_cast<std::uintptr_t>(g.task.base())));
    if (!g.call_stack.empty()) {
        line("  + Call stack:");
        for (const CallGraphFrame& f : g.call_stack)
            line(fmt::format("  |   File '{}', line {}, in async {}()", f.file, f.line, f.function));
    }
    if (!g.awaited_by.empty()) {
        line("  + Awaited by:");
        for (const CallGraph& a : g.awaited_by) render(a, level + 1, out);
    }
}

// --- the pstree-like view -------------------------------------------------------------

struct Tree {
    std::vector<TaskBase*> tasks;                  // creation order
    std::vector<std::vector<TaskBase*>> awaits;    // per task: the tasks it waits for
    std::unordered_map<const TaskBase*, std::size_t> index_of;
    std::size_t index(const TaskBase* t) const {
        auto it = index_of.find(t);
        return it == index_of.end() ? tasks.size() : it->second;
    }
};

void draw_task(const Tree& tree, TaskBase* t, const std::string& prefix, bool last, std::vector<const TaskBase*>& path,
               std::vector<bool>& drawn, std::string& out) {
    out += prefix + (last ? "└── " : "├── ") + fmt::format("(T) {}", t->name());
    const std::size_t i = tree.index(t);
    if (std::find(path.begin(), path.end(), t) != path.end()) {
        out += " (awaits itself through the tasks above: a deadlock)\n";
        return;
    }
    // A task awaited by several is drawn in full once; its other places point back to it.
    if (i < drawn.size() && drawn[i]) {
        out += " (awaited above too: its stack is drawn there)\n";
        return;
    }
    out += '\n';
    if (i < drawn.size()) drawn[i] = true;
    path.push_back(t);
    std::string inner = prefix + (last ? "    " : "│   ");
    // Outermost coroutine first, each one level deeper, as a call tree reads.
    std::vector<CallGraphFrame> stack = stack_of(*t);
    std::reverse(stack.begin(), stack.end());
    const std::vector<TaskBase*> none;
    const std::vector<TaskBase*>& children = i < tree.awaits.size() ? tree.awaits[i] : none;
    // Each frame is the only child of the one above it; the awaited tasks hang off the last.
    for (const CallGraphFrame& f : stack) {
        out += inner + "└──  " + fmt::format("{}() {}:{}", f.function, f.file, f.line) + '\n';
        inner += "    ";
    }
    for (std::size_t c = 0; c < children.size(); ++c)
        draw_task(tree, children[c], inner, c + 1 == children.size(), path, drawn, out);
    path.pop_back();
}

}  // namespace

namespace detail {
std::string coroutine_name(const char* function) {
    const std::string_view f(function);
    std::string out;
    out.reserve(f.size());
    int depth = 0;
    for (std::size_t i = 0; i < f.size(); ++i) {
        const char c = f[i];
        // The symbols of an operator's name ("operator<") are not brackets.
        if (depth == 0 && f.compare(i, 8, "operator") == 0) {
            std::size_t j = i + 8;
            while (j < f.size() && std::string_view("<>=!+-*/%^&|~[]()").find(f[j]) != std::string_view::npos &&
                   !(f[j] == '(' && j > i + 8))
                ++j;
            out.append(f.substr(i, j - i));
            i = j - 1;
            continue;
        }
        if (c == '<') {
            ++depth;
        } else if (c == '>' && depth > 0) {
            --depth;
        } else if (depth == 0) {
            out += c;
        }
    }
    return out;
}
}  // namespace detail

CallGraph capture_call_graph(const Task<>& task) {
    Task<> t = task ? task : current_task();
    if (!t) return {};
    std::vector<const TaskBase*> path;
    return capture(*t.base(), path);
}

std::string format_call_graph(const Task<>& task) {
    const CallGraph g = capture_call_graph(task);
    if (!g.task) return {};
    std::string out;
    render(g, 0, out);
    return out;
}

void print_call_graph(const Task<>& task) {
    const std::string s = format_call_graph(task);
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

std::string format_all_call_graphs() { return format_all_call_graphs(get_running_loop()); }

std::string format_all_call_graphs(EventLoop& loop) {
    Tree tree;
    for (TaskBase* t = detail::core(loop).first_task(); t; t = t->next_in_loop) tree.tasks.push_back(t);
    std::reverse(tree.tasks.begin(), tree.tasks.end());  // the loop's list is newest first
    for (std::size_t i = 0; i < tree.tasks.size(); ++i) tree.index_of.emplace(tree.tasks[i], i);
    tree.awaits.resize(tree.tasks.size());
    std::vector<bool> awaited(tree.tasks.size(), false);
    for (std::size_t i = 0; i < tree.tasks.size(); ++i) {
        for (TaskBase* a : awaiters_of(*tree.tasks[i])) {
            const std::size_t j = tree.index(a);
            if (j == tree.tasks.size()) continue;  // not a task of this loop any more
            tree.awaits[j].push_back(tree.tasks[i]);
            awaited[i] = true;
        }
    }
    std::vector<TaskBase*> roots;
    for (std::size_t i = 0; i < tree.tasks.size(); ++i)
        if (!awaited[i]) roots.push_back(tree.tasks[i]);
    std::string out;
    std::vector<bool> drawn(tree.tasks.size(), false);
    std::vector<const TaskBase*> path;
    for (std::size_t r = 0; r < roots.size(); ++r) draw_task(tree, roots[r], "", r + 1 == roots.size(), path, drawn, out);
    // Tasks that only await each other in a cycle have no root: start from each of them.
    for (std::size_t i = 0; i < tree.tasks.size(); ++i)
        if (!drawn[i]) draw_task(tree, tree.tasks[i], "", true, path, drawn, out);
    return out;
}

}  // namespace corio
