// A child process with piped stdin and stdout, for tests that talk to real peers (Python's
// asyncio). Blocking calls: run them with corio::to_thread while the loop serves the peer.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace corio_test {

class ChildProcess {
public:
    explicit ChildProcess(const std::vector<std::string>& argv);
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    // Closes stdin, then waits for the child (killing it after 10 s).
    ~ChildProcess();

    std::string read_line();  // without the "\n"; "" at EOF
    std::string read_all();
    void close_stdin();
    int wait();  // the exit status (128 + signal if killed)

private:
    pid_t pid_ = -1;
    int in_ = -1;
    int out_ = -1;
    std::string buffered_;
    bool waited_ = false;
    int status_ = -1;
};

// python3 with the script tests/peers/<name> and `args`.
std::vector<std::string> python_peer(const std::string& name, const std::vector<std::string>& args);

}  // namespace corio_test
