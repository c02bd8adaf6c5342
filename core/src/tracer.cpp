// Chrome trace-event JSON, written as the loop runs. Tracks are "threads" of one process:
// track 0 holds callbacks, every task gets its own, named by thread_name metadata and
// ordered by creation (thread_sort_index). Steps are complete ("X") slices named after the
// coroutine they resumed; creation, cancellation and completion are thread-scoped instants;
// timers and create_task are flows from the slice that caused them to the slice they woke.
// Events are formatted into one buffer with names formatted once, so that a traced step
// costs a few hundred nanoseconds, not microseconds.
#include "corio/detail/tracer.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <iterator>

#include "corio/call_graph.hpp"
#include "corio/coro.hpp"
#include "corio/detail/task_base.hpp"
#include "corio/errors.hpp"

namespace corio::detail {

namespace {
constexpr int kPid = 1;
// One category for every event: viewers pair flows with slices of the same category.
constexpr const char* kCat = "corio";
constexpr std::size_t kFlushAt = 64 * 1024;

// A JSON string literal, quotes included.
std::string quoted(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20)
                    fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
                else
                    out += c;
        }
    }
    out += '"';
    return out;
}

std::string location(const char* file, std::uint32_t line) { return fmt::format("{}:{}", file, line); }

const char* state_name(FutureState s) noexcept {
    switch (s) {
        case FutureState::pending: return "pending";
        case FutureState::succeeded: return "finished";
        case FutureState::failed: return "failed";
        case FutureState::cancelled: return "cancelled";
    }
    return "?";
}

std::uint32_t track_of(const TaskBase& t) noexcept { return static_cast<std::uint32_t>(t.id()); }
}  // namespace

Tracer::Tracer(const std::string& path) : file_(std::fopen(path.c_str(), "wb")), start_(std::chrono::steady_clock::now()) {
    if (!file_)
        throw RuntimeError(fmt::format("cannot write the trace file '{}': {}", path, std::strerror(errno)));
    buf_.reserve(kFlushAt + 4096);
    buf_.push_back('[');
    fmt::format_to(fmt::appender(buf_),
                   R"({{"name":"process_name","ph":"M","pid":{},"tid":0,"args":{{"name":"corio event loop"}}}})", kPid);
    name_track(kCallbackTrack, "callbacks");
}

Tracer::~Tracer() {
    append("\n]\n");
    flush();
    std::fclose(file_);
}

void Tracer::append(std::string_view s) { buf_.append(s.data(), s.data() + s.size()); }

void Tracer::flush() {
    std::fwrite(buf_.data(), 1, buf_.size(), file_);
    buf_.clear();
}

std::int64_t Tracer::since_start(Clock::time_point t) const noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t - start_).count();
}

void Tracer::append_us(std::int64_t ns) {
    if (ns < 0) ns = 0;
    fmt::format_to(fmt::appender(buf_), "{}.{:03}", ns / 1000, ns % 1000);
}

// Every event but the first (the process name) starts a new line after a comma.
void Tracer::begin_event() {
    if (buf_.size() >= kFlushAt) flush();
    append(",\n");
}

void Tracer::name_track(std::uint32_t track, const std::string& name) {
    Track& tr = tracks_[track];
    if (tr.name == name) return;
    tr.name = name;
    begin_event();
    fmt::format_to(fmt::appender(buf_), R"({{"name":"thread_name","ph":"M","pid":{},"tid":{},"args":{{"name":{}}}}})",
                   kPid, track, quoted(name));
    begin_event();
    fmt::format_to(fmt::appender(buf_),
                   R"({{"name":"thread_sort_index","ph":"M","pid":{},"tid":{},"args":{{"sort_index":{}}}}})", kPid, track,
                   track);
}

void Tracer::instant(const char* name, std::uint32_t track, const std::string& args) {
    begin_event();
    fmt::format_to(fmt::appender(buf_), R"({{"name":"{}","cat":"{}","ph":"i","s":"t","pid":{},"tid":{},"ts":)", name, kCat,
                   kPid, track);
    append_us(now_ns());
    fmt::format_to(fmt::appender(buf_), R"(,"args":{{{}}}}})", args);
}

void Tracer::flow(char phase, std::uint64_t id, std::uint32_t track, std::int64_t ts) {
    begin_event();
    fmt::format_to(fmt::appender(buf_), R"({{"name":"wakeup","cat":"{}","ph":"{}","id":{},"pid":{},"tid":{},"ts":)", kCat,
                   phase, id, kPid, track);
    append_us(ts);
    // "bp":"e" binds a flow end to the enclosing slice (a start always binds so).
    append(phase == 'f' ? R"(,"bp":"e"})" : "}");
}

const std::string& Tracer::step_name(const char* function) {
    auto it = step_names_.find(function);
    if (it == step_names_.end())
        it = step_names_.emplace(function, quoted(fmt::format("{}()", coroutine_name(function)))).first;
    return it->second;
}

void Tracer::begin_step(const TaskBase& t, void* frame, Clock::time_point start) noexcept {
    in_slice_ = true;
    slice_track_ = track_of(t);
    // Read now: a step that finishes its task destroys the frame.
    step_function_ = promise_at(frame).function_;
    slice_start_ = since_start(start);
}

void Tracer::begin_callback(Clock::time_point start) noexcept {
    in_slice_ = true;
    slice_track_ = kCallbackTrack;
    slice_start_ = since_start(start);
}

void Tracer::end_slice(std::uint32_t track, std::string_view quoted_name, std::string_view args, Clock::time_point end) {
    in_slice_ = false;
    begin_event();
    fmt::format_to(fmt::appender(buf_), R"({{"name":{},"cat":"{}","ph":"X","pid":{},"tid":{},"ts":)", quoted_name, kCat, kPid,
                   track);
    append_us(slice_start_);
    append(R"(,"dur":)");
    append_us(since_start(end) - slice_start_);
    fmt::format_to(fmt::appender(buf_), R"(,"args":{{{}}}}})", args);
    // Flows are written after their slice, at its start time, so that every viewer binds them.
    for (std::uint64_t id : flows_out_) flow('s', id, track, slice_start_);
    flows_out_.clear();
    if (auto it = tracks_.find(track); it != tracks_.end()) {
        for (std::uint64_t id : it->second.flows_in) flow('f', id, track, slice_start_);
        it->second.flows_in.clear();
    }
}

void Tracer::end_step(const TaskBase& t, Clock::time_point end) {
    const std::uint32_t track = track_of(t);
    Track& tr = tracks_[track];
    const std::uint32_t n = ++tr.steps;
    std::string args = R"("task":)";
    args += quoted(tr.name);
    fmt::format_to(std::back_inserter(args), R"(,"step":{})", n);
    end_slice(track, step_name(step_function_), args, end);
    if (t.done()) tracks_.erase(track);
}

void Tracer::end_callback(Clock::time_point end) { end_slice(kCallbackTrack, R"("callback")", {}, end); }

void Tracer::name_task(const TaskBase& t) { name_track(track_of(t), t.name()); }

void Tracer::task_created(const TaskBase& t, SourceLocation at) {
    const std::uint32_t track = track_of(t);
    name_track(track, t.name());
    const SourceLocation def = t.created_at();
    const std::string args =
        fmt::format(R"("coro":{},"defined at":{},"created at":{})", quoted(fmt::format("{}()", coroutine_name(def.function))),
                    quoted(location(def.file, def.line)), quoted(location(at.file, at.line)));
    instant("created", track, args);
    // From the step that created it (if a task's) to the new task's first step.
    if (in_slice_ && slice_track_ != kCallbackTrack) {
        const std::uint64_t id = ++next_flow_;
        flows_out_.push_back(id);
        tracks_[track].flows_in.push_back(id);
    }
}

void Tracer::task_cancel_requested(const TaskBase& t) {
    std::string args = fmt::format(R"("message":{})", quoted(t.cancel_message()));
    if (in_slice_ && slice_track_ != kCallbackTrack) fmt::format_to(std::back_inserter(args), R"(,"by task":{})", slice_track_);
    instant("cancel", track_of(t), args);
}

void Tracer::task_done(const TaskBase& t) {
    const std::uint32_t track = track_of(t);
    std::string args = fmt::format(R"("state":"{}")", state_name(t.state()));
    if (t.state() == FutureState::failed)
        fmt::format_to(std::back_inserter(args), R"(,"exception":{})", quoted(describe(t.stored_exception())));
    instant("done", track, args);
    name_track(track, t.name());  // set_name() may have renamed it since its creation
    // Finished in its own step: end_step still needs the count and the incoming flows.
    if (in_slice_ && slice_track_ == track) return;
    tracks_.erase(track);
}

void Tracer::timer_set(const void* node, std::uint32_t from, std::uint32_t to) {
    const std::uint64_t id = ++next_flow_;
    timers_[node] = PendingTimer{id, to};
    if (in_slice_)
        flows_out_.push_back(id);
    else
        flow('s', id, from, now_ns());  // outside any slice: not bound, but still paired
}

void Tracer::timer_fired(const void* node) {
    auto it = timers_.find(node);
    if (it == timers_.end()) return;  // set before tracing began
    tracks_[it->second.to].flows_in.push_back(it->second.flow);
    timers_.erase(it);
}

void Tracer::timer_removed(const void* node) noexcept { timers_.erase(node); }

}  // namespace corio::detail
