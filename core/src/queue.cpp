// The out-of-line parts of the queues (the templates are in queue.hpp).
#include "corio/queue.hpp"

namespace corio::detail {

void throw_task_done_too_often() {
    throw ValueError("Queue.task_done() called more times than there were items put");
}

}  // namespace corio::detail
