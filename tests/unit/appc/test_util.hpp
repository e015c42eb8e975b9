#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "common/error.hpp"

namespace ferry::appc::test {

// The message of the ferry::Error that fn throws, or "(no error)".
template <typename Fn>
std::string errorOf(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

inline std::string readData(const std::string& name) {
  std::ifstream in(std::string(FERRY_TEST_DATA) + "/appc/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace ferry::appc::test
