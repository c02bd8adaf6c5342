// placeholder: filled in by the test_task_group port
#include <catch2/catch.hpp>
