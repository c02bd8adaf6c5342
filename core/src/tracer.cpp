// Chrome trace-event JSON, written as the loop runs. Tracks are "threads" of one process:
// track 0 holds callbacks, every task gets its own, named by thread_name metadata and
// ordered by creation (thread_sort_index). Steps are complete ("X") slices named after the
// coroutine they resumed; creation, cancellation and completion are thread-scoped instants;
// timers and create_task are flows whose end binds to the next slice of the woken track.
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
    write("[\n");
    begin_event();
    write(fmt::format(R"({{"name":"process_name","ph":"M","pid":{},"tid":0,"args":{{"name":"corio event loop"}}}})", kPid));
    name_track(kCallbackTrack, "callbacks");
}

Tracer::~Tracer() {
    write("\n]\n");
    std::fclose(file_);
}

double Tracer::now_us() const noexcept {
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start_).count();
}

void Tracer::begin_event() {
    if (!first_) write(",\n");
    first_ = false;
}

void Tracer::write(std::string_view s) { std::fwrite(s.data(), 1, s.size(), file_); }

void Tracer::name_track(std::uint32_t track, const std::string& name) {
    begin_event();
    write(fmt::format(R"({{"name":"thread_name","ph":"M","pid":{},"tid":{},"args":{{"name":{}}}}})", kPid, track,
                      quoted(name)));
    begin_event();
    write(fmt::format(R"({{"name":"thread_sort_index","ph":"M","pid":{},"tid":{},"args":{{"sort_index":{}}}}})", kPid,
                      track, track));
}

void Tracer::instant(const char* name, std::uint32_t track, const std::string& args) {
    begin_event();
    write(fmt::format(R"({{"name":"{}","cat":"{}","ph":"i","s":"t","pid":{},"tid":{},"ts":{:.3f},"args":{{{}}}}})", name,
                      kCat, kPid, track, now_us(), args));
}

void Tracer::flow(char phase, std::uint64_t id, std::uint32_t track, double ts) {
    begin_event();
    // "bp":"e" binds a flow end to the enclosing slice (a start always binds so).
    write(fmt::format(R"({{"name":"wakeup","cat":"{}","ph":"{}","id":{},"pid":{},"tid":{},"ts":{:.3f}{}}})", kCat, phase,
                      id, kPid, track, ts, phase == 'f' ? R"(,"bp":"e")" : ""));
}

void Tracer::flow_out(std::uint64_t id, std::uint32_t track) {
    if (in_slice_)
        flows_out_.push_back(id);
    else
        flow('s', id, track, now_us());
}

void Tracer::begin_step(const TaskBase& t, void* frame) noexcept {
    in_slice_ = true;
    slice_track_ = track_of(t);
    // Read now: a step that finishes its task destroys the frame.
    step_function_ = promise_at(frame).function_;
    slice_start_ = now_us();
}

void Tracer::begin_callback() noexcept {
    in_slice_ = true;
    slice_track_ = kCallbackTrack;
    slice_start_ = now_us();
}

void Tracer::end_slice(std::uint32_t track, const std::string& name, const std::string& args) {
    const double end = now_us();
    in_slice_ = false;
    begin_event();
    write(fmt::format(R"({{"name":{},"cat":"{}","ph":"X","pid":{},"tid":{},"ts":{:.3f},"dur":{:.3f},"args":{{{}}}}})",
                      quoted(name), kCat, kPid, track, slice_start_, end - slice_start_, args));
    // Flows are written after their slice, at its start time, so that every viewer binds them.
    for (std::uint64_t id : flows_out_) flow('s', id, track, slice_start_);
    flows_out_.clear();
    if (auto it = flows_in_.find(track); it != flows_in_.end()) {
        for (std::uint64_t id : it->second) flow('f', id, track, slice_start_);
        flows_in_.erase(it);
    }
}

void Tracer::end_step(const TaskBase& t) {
    const std::uint32_t track = track_of(t);
    const std::uint32_t n = ++steps_[track];
    end_slice(track, fmt::format("{}()", coroutine_name(step_function_)), fmt::format(R"("task":{},"step":{})", quoted(t.name()), n));
    if (t.done()) steps_.erase(track);
}

void Tracer::end_callback() { end_slice(kCallbackTrack, "callback", {}); }

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
        flows_in_[track].push_back(id);
    }
}

void Tracer::task_cancel_requested(const TaskBase& t) {
    std::string args = fmt::format(R"("message":{})", quoted(t.cancel_message()));
    if (in_slice_ && slice_track_ != kCallbackTrack) args += fmt::format(R"(,"by task":{})", slice_track_);
    instant("cancel", track_of(t), args);
}

void Tracer::task_done(const TaskBase& t) {
    const std::uint32_t track = track_of(t);
    std::string args = fmt::format(R"("state":"{}")", state_name(t.state()));
    if (t.state() == FutureState::failed)
        args += fmt::format(R"(,"exception":{})", quoted(describe(t.stored_exception())));
    instant("done", track, args);
    // The name may have changed since creation (set_name); the last metadata wins.
    name_track(track, t.name());
    // Finished in its own step: end_step still needs the count and the incoming flows.
    if (in_slice_ && slice_track_ == track) return;
    steps_.erase(track);
    flows_in_.erase(track);
}

void Tracer::timer_set(const void* node, std::uint32_t from, std::uint32_t to) {
    const std::uint64_t id = ++next_flow_;
    timers_[node] = PendingTimer{id, to};
    flow_out(id, from);
}

void Tracer::timer_fired(const void* node) {
    auto it = timers_.find(node);
    if (it == timers_.end()) return;  // set before tracing began
    flows_in_[it->second.to].push_back(it->second.flow);
    timers_.erase(it);
}

void Tracer::timer_removed(const void* node) noexcept { timers_.erase(node); }

}  // namespace corio::detail
