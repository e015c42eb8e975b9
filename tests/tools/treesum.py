#!/usr/bin/env python3
"""Prints a canonical, sorted listing of a directory tree for comparing rootfs trees.

One line per path: path, type, mode, uid, gid, mtime in ns, size, symlink target, content
sha256, xattrs, and the hardlink group (the first path, in sorted order, sharing the inode).
Directory mtimes are included unless --no-dir-mtime. Usage: treesum.py [--no-dir-mtime] DIR
"""
import hashlib
import os
import stat
import sys


def main():
    args = sys.argv[1:]
    dir_mtime = True
    if args and args[0] == "--no-dir-mtime":
        dir_mtime = False
        args = args[1:]
    if len(args) != 1:
        sys.exit("usage: treesum.py [--no-dir-mtime] DIR")
    root = args[0]
    paths = []
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(base, name)
            paths.append(os.path.relpath(full, root))
    paths.sort()
    inode_first = {}
    for rel in paths:
        st = os.lstat(os.path.join(root, rel))
        if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
            inode_first.setdefault((st.st_dev, st.st_ino), rel)
    for rel in paths:
        full = os.path.join(root, rel)
        st = os.lstat(full)
        kind = stat.S_IFMT(st.st_mode)
        t = {stat.S_IFREG: "f", stat.S_IFDIR: "d", stat.S_IFLNK: "l", stat.S_IFIFO: "p",
             stat.S_IFCHR: "c", stat.S_IFBLK: "b", stat.S_IFSOCK: "s"}.get(kind, "?")
        target = os.readlink(full) if t == "l" else ""
        digest = ""
        if t == "f":
            h = hashlib.sha256()
            with open(full, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            digest = h.hexdigest()
        try:
            names = sorted(os.listxattr(full, follow_symlinks=False))
            xattrs = ",".join(
                "%s=%s" % (n, os.getxattr(full, n, follow_symlinks=False).hex()) for n in names)
        except OSError:
            xattrs = ""
        mtime = st.st_mtime_ns if (t != "d" or dir_mtime) else "-"
        dev = "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)) if t in "cb" else ""
        link = ""
        if t != "d" and st.st_nlink > 1:
            link = inode_first[(st.st_dev, st.st_ino)]
        print("%s %s %o %d %d %s %d %s %s %s %s %s" % (
            rel, t, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, mtime,
            st.st_size if t == "f" else 0, target, digest, xattrs, dev, link))


if __name__ == "__main__":
    main()
