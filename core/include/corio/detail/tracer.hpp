// The writer behind RunOptions::trace_path / CORIO_TRACE: Chrome trace-event JSON that
// Perfetto and chrome://tracing open. Events are written as they happen, in the JSON array
// format, which both viewers read even when a crash left the closing bracket unwritten.
// Only the loop's thread calls it; with tracing off the loop holds no Tracer at all.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "corio/detail/source_location.hpp"

namespace corio::detail {

class TaskBase;

class Tracer {
public:
    // The track of callbacks (call_soon, call_later, done callbacks); tasks use their id.
    static constexpr std::uint32_t kCallbackTrack = 0;

    explicit Tracer(const std::string& path);  // RuntimeError if the file cannot be written
    ~Tracer();                                  // writes the closing bracket
    Tracer(const Tracer&) = delete;
    Tracer& operator=(const Tracer&) = delete;

    // A step of `t` resuming the coroutine `frame` (the slice is named after it), or a
    // callback (on kCallbackTrack), begins; end_step/end_callback write it as one complete
    // ("X") slice. Time is the steady clock, also under virtual time: a trace shows where
    // real time went.
    // The loop times each step for debug mode anyway: it passes its clock readings in.
    using Clock = std::chrono::steady_clock;
    void begin_step(const TaskBase& t, void* frame, Clock::time_point start) noexcept;
    void begin_callback(Clock::time_point start) noexcept;
    void end_step(const TaskBase& t, Clock::time_point end);
    void end_callback(Clock::time_point end);

    // The task's track (named), an instant at its creation, and a flow from the step that
    // created it to the task's first step.
    void task_created(const TaskBase& t, SourceLocation at);
    // Names the track of a task that existed before tracing began.
    void name_task(const TaskBase& t);
    void task_cancel_requested(const TaskBase& t);
    void task_done(const TaskBase& t);
    // Timers: a flow from the step that set one (`from`) to the first slice of track `to`
    // after the timer fired.
    void timer_set(const void* node, std::uint32_t from, std::uint32_t to);
    void timer_fired(const void* node);
    void timer_removed(const void* node) noexcept;

private:
    // What the tracer keeps of a live task's track.
    struct Track {
        std::uint32_t steps = 0;
        std::string name;  // as last written to the trace
        std::vector<std::uint64_t> flows_in;  // flows waiting for its next slice
    };
    struct PendingTimer {
        std::uint64_t flow;
        std::uint32_t to;
    };

    // Times are nanoseconds since the trace began, written as microseconds with three
    // decimals (integer formatting: several times faster than a double's).
    std::int64_t since_start(Clock::time_point t) const noexcept;
    std::int64_t now_ns() const noexcept { return since_start(Clock::now()); }
    void append_us(std::int64_t ns);
    void append(std::string_view s);
    void begin_event();
    void flush();
    void name_track(std::uint32_t track, const std::string& name);
    void instant(const char* name, std::uint32_t track, const std::string& args);
    void flow(char phase, std::uint64_t id, std::uint32_t track, std::int64_t ts);
    void end_slice(std::uint32_t track, std::string_view quoted_name, std::string_view args, Clock::time_point end);
    // The JSON-quoted slice name of a coroutine, "fetch()", formatted once per function.
    const std::string& step_name(const char* function);

    std::FILE* file_;
    Clock::time_point start_;
    fmt::memory_buffer buf_;  // written out in large pieces
    std::uint64_t next_flow_ = 0;
    // The slice being run. Its flow events are written after it, with its start time and
    // bound to it ("bp":"e"): viewers bind them reliably only to a slice they already know.
    bool in_slice_ = false;
    std::uint32_t slice_track_ = 0;
    std::int64_t slice_start_ = 0;
    const char* step_function_ = "";
    std::vector<std::uint64_t> flows_out_;
    std::unordered_map<std::uint32_t, Track> tracks_;  // tasks alive, and the callbacks
    std::unordered_map<const void*, PendingTimer> timers_;
    std::unordered_map<const char*, std::string> step_names_;
};

}  // namespace corio::detail
