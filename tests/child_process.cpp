// ChildProcess: posix_spawn with two pipes. See child_process.hpp.
#include "child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

namespace corio_test {

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    in_ = to_child[1];
    out_ = from_child[0];
    if (rc != 0) {
        close(in_);
        close(out_);
        throw std::system_error(rc, std::generic_category(), "posix_spawnp " + argv[0]);
    }
}

ChildProcess::~ChildProcess() {
    close_stdin();
    if (!waited_) {
        for (int i = 0; i < 1000; ++i) {
            int st = 0;
            if (waitpid(pid_, &st, WNOHANG) == pid_) {
                waited_ = true;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (!waited_) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }
    if (out_ >= 0) close(out_);
}

std::string ChildProcess::read_line() {
    for (;;) {
        const auto nl = buffered_.find('\n');
        if (nl != std::string::npos) {
            std::string line = buffered_.substr(0, nl);
            buffered_.erase(0, nl + 1);
            return line;
        }
        char buf[4096];
        const ssize_t n = read(out_, buf, sizeof buf);
        if (n <= 0) return std::exchange(buffered_, {});
        buffered_.append(buf, static_cast<std::size_t>(n));
    }
}

std::string ChildProcess::read_all() {
    char buf[4096];
    ssize_t n;
    while ((n = read(out_, buf, sizeof buf)) > 0) buffered_.append(buf, static_cast<std::size_t>(n));
    return std::exchange(buffered_, {});
}

void ChildProcess::close_stdin() {
    if (in_ >= 0) {
        close(in_);
        in_ = -1;
    }
}

int ChildProcess::wait() {
    if (!waited_) {
        int st = 0;
        waitpid(pid_, &st, 0);
        waited_ = true;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return status_;
}

std::vector<std::string> python_peer(const std::string& name, const std::vector<std::string>& args) {
    std::vector<std::string> argv{"python3", std::string(CORIO_TEST_SOURCE_DIR) + "/peers/" + name};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

}  // namespace corio_test
