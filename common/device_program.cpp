#include "common/device_program.hpp"

#include <cstddef>

namespace ferry::cgroup {

namespace {

// The kernel's BPF_*_IMM/BPF_LDX_MEM macros live in its own tree (include/linux/filter.h),
// not in the UAPI headers: these are the few this program needs.
constexpr bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
constexpr bpf_insn loadWord(uint8_t dst, int16_t off) {  // dst = *(u32 *)(r1 + off)
  return insn(BPF_LDX | BPF_MEM | BPF_W, dst, BPF_REG_1, off, 0);
}
constexpr bpf_insn alu32(uint8_t op, uint8_t dst, int32_t imm) {
  return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
constexpr bpf_insn move32(uint8_t dst, uint8_t src) {
  return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
constexpr bpf_insn jumpUnlessEqual(uint8_t reg, int32_t imm, int16_t off) {
  return insn(BPF_JMP | BPF_JNE | BPF_K, reg, 0, off, imm);
}
void returnValue(std::vector<bpf_insn>& out, int32_t value) {
  out.push_back(alu32(BPF_MOV, BPF_REG_0, value));
  out.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
}

// Registers after the prologue.
constexpr uint8_t kType = BPF_REG_2;
constexpr uint8_t kAccess = BPF_REG_3;
constexpr uint8_t kMajor = BPF_REG_4;
constexpr uint8_t kMinor = BPF_REG_5;
constexpr uint8_t kScratch = BPF_REG_1;  // the context pointer is not needed after the prologue

}  // namespace

std::vector<bpf_insn> deviceProgram(const DevicePolicy& policy) {
  std::vector<bpf_insn> out;
  out.push_back(loadWord(kType, offsetof(bpf_cgroup_dev_ctx, access_type)));
  out.push_back(alu32(BPF_AND, kType, 0xffff));
  out.push_back(loadWord(kAccess, offsetof(bpf_cgroup_dev_ctx, access_type)));
  out.push_back(alu32(BPF_RSH, kAccess, 16));
  out.push_back(loadWord(kMajor, offsetof(bpf_cgroup_dev_ctx, major)));
  out.push_back(loadWord(kMinor, offsetof(bpf_cgroup_dev_ctx, minor)));
  for (const DeviceRule& e : policy.entries()) {
    // The entry's tests, each jumping past the entry's end on a mismatch: the offsets are set
    // once the entry's length is known.
    std::vector<bpf_insn> block;
    block.push_back(
        jumpUnlessEqual(kType, e.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0));
    if (e.access != kDeviceAll) {
      block.push_back(move32(kScratch, kAccess));
      block.push_back(alu32(BPF_AND, kScratch, static_cast<int32_t>(~e.access)));
      block.push_back(jumpUnlessEqual(kScratch, 0, 0));
    }
    if (e.major >= 0) block.push_back(jumpUnlessEqual(kMajor, static_cast<int32_t>(e.major), 0));
    if (e.minor >= 0) block.push_back(jumpUnlessEqual(kMinor, static_cast<int32_t>(e.minor), 0));
    returnValue(block, 1);
    for (size_t i = 0; i < block.size(); ++i) {
      if (block[i].code == (BPF_JMP | BPF_JNE | BPF_K)) {
        block[i].off = static_cast<int16_t>(block.size() - i - 1);
      }
    }
    out.insert(out.end(), block.begin(), block.end());
  }
  returnValue(out, 0);
  return out;
}

}  // namespace ferry::cgroup
