// Headers: HTTP header fields as aiohttp's CIMultiDict, a multimap whose keys compare
// without regard to case, in the order they were added (repeats kept: Set-Cookie).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corio::http {

class Headers {
public:
    using value_type = std::pair<std::string, std::string>;
    using const_iterator = std::vector<value_type>::const_iterator;

    Headers() = default;
    Headers(std::initializer_list<value_type> fields);

    // Appends a field (keeps any of the same name).
    void add(std::string name, std::string value);
    // Replaces every field named `name` with one.
    void set(std::string name, std::string value);
    // Removes every field named `name`; how many went.
    std::size_t erase(std::string_view name);

    // The first field named `name`, or end().
    const_iterator find(std::string_view name) const;
    std::size_t count(std::string_view name) const;
    bool contains(std::string_view name) const { return find(name) != end(); }
    // The first value of `name`, if any.
    std::optional<std::string> get(std::string_view name) const;
    // Every value of `name`, in order.
    std::vector<std::string> get_all(std::string_view name) const;

    const_iterator begin() const noexcept { return fields_.begin(); }
    const_iterator end() const noexcept { return fields_.end(); }
    std::size_t size() const noexcept { return fields_.size(); }
    bool empty() const noexcept { return fields_.empty(); }
    void clear() noexcept { fields_.clear(); }

    friend bool operator==(const Headers&, const Headers&) = default;

private:
    std::vector<value_type> fields_;
};

// ASCII case-insensitive equality, as header names compare.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace corio::http
