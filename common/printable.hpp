// What a pod, an image or a kvm guest wrote, made safe to print on the operator's terminal
// (defined in error.cpp, beside quote(), which escapes the same way).
#pragma once

#include <string>
#include <string_view>

namespace ferry {

// Every control character (C0 but what is kept, DEL, C1 as U+0080-U+009F) and every byte that
// is not part of valid UTF-8 shown escaped (\x1b, \u009b); the rest, printable UTF-8 text, as it
// is. Tab stays when `keepTab`, newline when `keepNewline`: for one-line fields keep neither (a
// newline there would forge the next line).
std::string printable(std::string_view s, bool keepNewline = false, bool keepTab = false);

}  // namespace ferry
