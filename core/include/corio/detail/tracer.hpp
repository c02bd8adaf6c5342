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
    void begin_step(const TaskBase& t, void* frame) noexcept;
    void begin_callback() noexcept;
    void end_step(const TaskBase& t);
    void end_callback();

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
    double now_us() const noexcept;
    void begin_event();
    void write(std::string_view s);
    void name_track(std::uint32_t track, const std::string& name);
    void instant(const char* name, std::uint32_t track, const std::string& args);
    void flow(char phase, std::uint64_t id, std::uint32_t track, double ts);
    // A flow leaving the current slice, or (outside any) leaving `track` now.
    void flow_out(std::uint64_t id, std::uint32_t track);
    void end_slice(std::uint32_t track, const std::string& event_head, const std::string& args);

    struct PendingTimer {
        std::uint64_t flow;
        std::uint32_t to;
    };

    std::FILE* file_;
    std::chrono::steady_clock::time_point start_;
    bool first_ = true;
    std::uint64_t next_flow_ = 0;
    // The slice being run. Its flow events are written after it, with its start time and
    // bound to it ("bp":"e"): viewers bind them reliably only to a slice they already know.
    bool in_slice_ = false;
    std::uint32_t slice_track_ = 0;
    double slice_start_ = 0;
    const char* step_function_ = "";
    std::vector<std::uint64_t> flows_out_;
    // Flows waiting for the next slice of a track (a timer fired, a task was created).
    std::unordered_map<std::uint32_t, std::vector<std::uint64_t>> flows_in_;
    std::unordered_map<const void*, PendingTimer> timers_;
    std::unordered_map<std::uint32_t, std::uint32_t> steps_;  // per task: steps so far
};

}  // namespace corio::detail
