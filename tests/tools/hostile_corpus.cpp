#include "tests/tools/hostile_corpus.hpp"

#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace ferry::testing {

namespace {

// One raw member. `declaredSize` overrides the size field (data is written as given).
struct Member {
  std::string name;
  char type = '0';
  std::string data;
  std::string link;
  unsigned mode = 0644;
  long long declaredSize = -1;
  unsigned devMajor = 0, devMinor = 0;
  std::vector<std::pair<std::string, std::string>> pax;  // extended header records
};

void octal(char* field, size_t width, unsigned long long v) {
  // width-1 octal digits then NUL (values too large for the field are cut, on purpose).
  field[width - 1] = '\0';
  for (size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  }
}

std::string header(const std::string& name, char type, unsigned mode, unsigned long long size,
                   const std::string& link, unsigned major, unsigned minor) {
  char b[512] = {};
  std::memcpy(b, name.data(), std::min<size_t>(name.size(), 100));
  octal(b + 100, 8, mode);
  octal(b + 108, 8, 0);
  octal(b + 116, 8, 0);
  octal(b + 124, 12, size);
  octal(b + 136, 12, 1500000000);
  b[156] = type;
  std::memcpy(b + 157, link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(b + 257,
              "ustar\0"
              "00",
              8);
  octal(b + 329, 8, major);
  octal(b + 337, 8, minor);
  std::memset(b + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : b) sum += c;
  std::snprintf(b + 148, 8, "%06o", sum);
  b[155] = ' ';
  return std::string(b, 512);
}

std::string pad(std::string s) {
  s.append((512 - s.size() % 512) % 512, '\0');
  return s;
}

std::string paxRecord(const std::string& key, const std::string& value) {
  size_t body = key.size() + value.size() + 3;
  size_t len = body + 1;
  while (std::to_string(len).size() + body != len) len = std::to_string(len).size() + body;
  return std::to_string(len) + " " + key + "=" + value + "\n";
}

std::string tar(const std::vector<Member>& members, bool end = true) {
  std::string out;
  for (const Member& m : members) {
    if (!m.pax.empty()) {
      std::string records;
      for (const auto& [k, v] : m.pax) records += paxRecord(k, v);
      out += header("PaxHeaders/x", 'x', 0644, records.size(), "", 0, 0);
      out += pad(records);
    }
    if (m.name.size() > 100 && m.pax.empty()) {  // GNU long name
      out += header("././@LongLink", 'L', 0644, m.name.size() + 1, "", 0, 0);
      out += pad(m.name + '\0');
    }
    unsigned long long size = m.declaredSize >= 0 ? m.declaredSize : m.data.size();
    out += header(m.name, m.type, m.mode, size, m.link, m.devMajor, m.devMinor);
    out += pad(m.data);
  }
  if (end) out.append(1024, '\0');
  return out;
}

std::string gzip(const std::string& data) {
  z_stream z{};
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2");
  }
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

Member file(std::string name, std::string data = "x") {
  Member m;
  m.name = std::move(name);
  m.data = std::move(data);
  return m;
}
Member dir(std::string name) {
  Member m;
  m.name = std::move(name);
  m.type = '5';
  m.mode = 0755;
  return m;
}
Member link(std::string name, char type, std::string target) {
  Member m;
  m.name = std::move(name);
  m.type = type;
  m.link = std::move(target);
  m.mode = 0777;
  return m;
}
Member manifest() {
  return file("manifest", R"({"acKind":"ImageManifest","acVersion":"0.8.11","name":"x"})");
}

// An ACI around some rootfs members.
std::vector<Member> aci(std::vector<Member> rootfs) {
  std::vector<Member> v{manifest(), dir("rootfs/")};
  v.insert(v.end(), rootfs.begin(), rootfs.end());
  return v;
}

}  // namespace

std::vector<HostileCase> writeHostileCorpus(const std::filesystem::path& outDir) {
  std::vector<HostileCase> cases;
  auto emit = [&](const std::string& name, const std::string& bytes, const std::string& what) {
    std::ofstream f(outDir / name, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error("cannot write " + (outDir / name).string());
    cases.push_back({name, what});
  };

  emit("dotdot.tar", tar({file("../escape")}), "entry name climbing out with ../");
  emit("dotdot_gnu_longname.tar",
       tar({file(std::string(60, 'a') + "/../../" + std::string(60, 'b') + "/../../../escape")}),
       "GNU long name (type L) with .. components");
  emit("absolute.tar", tar({file("/tmp/ferry-hostile-absolute")}), "absolute entry name");
  emit("rootfs_dotdot.aci", tar(aci({file("rootfs/../x")})), "rootfs/../x");
  emit("symlink_escape.aci",
       tar(aci({link("rootfs/evil", '2', "../../outside"), file("rootfs/evil/pwned")})),
       "symlink pointing outside, then a file written through it");
  emit("symlink_absolute_escape.aci",
       tar(aci({link("rootfs/evil", '2', "/tmp"), file("rootfs/evil/ferry-hostile-pwned")})),
       "absolute symlink to /tmp, then a file written through it");
  emit("symlink_dotdot_chain.aci",
       tar(aci({link("rootfs/l1", '2', ".."), link("rootfs/l2", '2', "l1/.."),
                link("rootfs/l3", '2', "l2/../.."), file("rootfs/l3/pwned")})),
       "chain of symlinks to .., then a write through the last");
  emit("symlink_dir_swap.tar",
       tar({dir("rootfs/"), dir("rootfs/d/"), link("rootfs/d", '2', "../../outside"),
            file("rootfs/d/pwned")}),
       "directory replaced by a symlink, then a write below it");
  emit("hardlink_absolute.aci", tar(aci({link("rootfs/h", '1', "/etc/passwd")})),
       "hardlink to /etc/passwd");
  emit("hardlink_dotdot.aci", tar(aci({link("rootfs/h", '1', "../outside")})),
       "hardlink to ../outside");
  emit("hardlink_rootfs_dotdot.aci",
       tar(aci({link("rootfs/h", '1', "rootfs/../../outside/sentinel")})),
       "hardlink to rootfs/../../outside/sentinel");
  emit("hardlink_through_symlink.aci",
       tar(aci(
           {link("rootfs/s", '2', "../../outside"), link("rootfs/h", '1', "rootfs/s/sentinel")})),
       "hardlink whose target goes through a symlink");
  emit("hardlink_outside_rootfs.aci", tar(aci({link("rootfs/h", '1', "manifest")})),
       "hardlink to the manifest, outside rootfs");
  Member chr = link("rootfs/null", '3', "");
  chr.devMajor = 1;
  chr.devMinor = 3;
  chr.mode = 0666;
  emit("chardev.aci", tar(aci({chr})), "character device node");
  Member blk = link("rootfs/sda", '4', "");
  blk.devMajor = 8;
  blk.mode = 0660;
  emit("blockdev.aci", tar(aci({blk})), "block device node");
  Member fifo = link("rootfs/fifo", '6', "");
  fifo.mode = 0600;
  emit("fifo.aci", tar(aci({fifo})), "fifo (allowed by default)");
  emit("duplicate.aci", tar(aci({file("rootfs/a", "first"), file("rootfs/a", "second")})),
       "the same entry twice");
  emit("outside_rootfs.aci", tar(aci({file("etc/passwd", "root::0:0::/:/bin/sh\n")})),
       "top-level etc/passwd next to manifest and rootfs");
  Member huge = file("rootfs/huge", "tiny");
  huge.pax = {{"size", "1125899906842624"}};  // 1 PiB
  emit("huge_size.aci", tar(aci({huge})), "entry declaring 1 PiB with 4 bytes of data");
  std::string whole = tar(aci({file("rootfs/a", std::string(4000, 'a')), file("rootfs/b")}));
  emit("truncated.aci", whole.substr(0, 1536 + 512 + 1000),
       "archive cut in the middle of an entry");
  std::string gz = gzip(whole);
  emit("truncated.aci.gz", gz.substr(0, gz.size() / 2), "gzip stream cut in half");
  emit("bomb.aci.gz", gzip(tar(aci({file("rootfs/zeros", std::string(size_t{64} << 20, '\0'))}))),
       "64 KiB of gzip expanding to 64 MiB");
  Member nul = file("rootfs/placeholder");
  nul.pax = {{"path", std::string("rootfs/a\0/../../../outside/nul", 31)}};
  emit("nul_name.aci", tar(aci({nul})), "pax path with an embedded NUL then ..");
  emit("non_utf8_name.aci", tar(aci({file("rootfs/caf\xe9-\xff\xfe", "latin1")})),
       "name that is not UTF-8 (accepted: Linux names are bytes)");
  emit("big_manifest.aci",
       tar({file("manifest", std::string(size_t{2} << 20, ' ')), dir("rootfs/")}),
       "manifest of 2 MiB");
  emit("missing_manifest.aci", tar({dir("rootfs/"), file("rootfs/a")}), "no manifest");
  emit("manifest_symlink.aci", tar({link("manifest", '2', "/etc/passwd"), dir("rootfs/")}),
       "manifest that is a symlink");
  emit("rootfs_not_dir.aci", tar({manifest(), file("rootfs")}), "rootfs is a regular file");
  return cases;
}

}  // namespace ferry::testing
