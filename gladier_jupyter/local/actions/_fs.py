"""File operations of the local Transfer that never follow a link out of a collection.

Other users of a shared machine can plant links (and swap them in at any moment) in a
collection folder they can write. So nothing here resolves a path and then opens it: every
path is walked one component at a time from an open file descriptor of the collection's
folder, each component opened with ``O_NOFOLLOW`` relative to the previous one (``openat``),
and files are written to a fresh temporary name and renamed into place, so an existing link
(or hard link) at the destination is replaced, never written through.

What Globus documents, and what this does:

- A recursive transfer skips symlinks by default (``recursive_symlinks: "ignore"``,
  https://docs.globus.org/api/transfer/task_submit/): links met while walking a folder are
  skipped and counted (``symlinks_skipped``), neither followed nor recreated; so are FIFOs,
  sockets and devices.
- A path the user names explicitly (``source_path``, ``destination_path``, ``ls``/``mkdir``
  paths, delete items) that goes through a link is refused (:class:`LinkRefused`, the task
  FAILS with ``PERMISSION_DENIED``); a delete removes a link itself, never its target, as
  Globus's delete does ("Symlinks will never be followed, only deleted", globus-sdk
  ``DeleteData``).
- Paths are UTF-8 text without NUL, at most 4096 bytes with names of at most 255 bytes
  (Linux's limits), and may not climb above the collection's folder; anything else is a
  one-line :class:`ActionUnableToRun` (a 400 from the Transfer API).
"""

from __future__ import annotations

import dataclasses
import errno
import grp
import os
import pathlib
import shutil
import stat
import typing as t
import uuid

from gladier_jupyter.local.actions import ActionUnableToRun

__all__ = ["Collection", "CopyResult", "LinkRefused", "copy_file", "delete", "entry", "listing", "make_dir", "rename",
           "show_path", "split_path"]

MAX_NAME = 255
MAX_PATH = 4096
MAX_DEPTH = 200
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20


class LinkRefused(PermissionError):
    """An explicitly named path goes through a symbolic link."""


def show_path(path: str) -> str:
    return repr(path if len(path) <= 80 else path[:77] + "...")


def split_path(path: t.Any, what: str) -> list[str]:
    """The components of a collection path (``/`` and ``/~/`` are the collection's folder),
    or :class:`ActionUnableToRun` naming ``what`` and the rule it breaks."""
    if not isinstance(path, str):
        raise ActionUnableToRun(f"The {what} must be a string, not {type(path).__name__}.")
    if "\x00" in path:
        raise ActionUnableToRun(f"The {what} {show_path(path)} contains a NUL byte, which no path may hold. Remove it.")
    try:
        size = len(path.encode("utf-8"))
    except UnicodeEncodeError:
        raise ActionUnableToRun(
            f"The {what} {show_path(path)} is not valid UTF-8 text; Transfer paths are UTF-8. Fix the path."
        ) from None
    if size > MAX_PATH:
        raise ActionUnableToRun(f"The {what} {show_path(path)} is {size} bytes long, over the {MAX_PATH} bytes "
                                "a path may have. Use a shorter path.")
    rel = path.lstrip("/")
    if rel.startswith("~"):
        rel = rel[1:]
    parts: list[str] = []
    for part in rel.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ActionUnableToRun(f"The {what} {show_path(path)} leaves its collection's folder.")
            parts.pop()
            continue
        if len(part.encode("utf-8")) > MAX_NAME:
            raise ActionUnableToRun(f"The {what} {show_path(path)} has a name longer than {MAX_NAME} bytes, "
                                    "the file system's limit. Use a shorter name.")
        parts.append(part)
    return parts


def _shown(parts: t.Sequence[str]) -> str:
    return "/" + "/".join(parts)


def _refuse_link(what: str, parts: t.Sequence[str], at: int) -> LinkRefused:
    return LinkRefused(
        errno.ELOOP,
        f"The {what} {show_path(_shown(parts))} goes through {show_path(_shown(parts[:at + 1]))}, a symbolic link, "
        "which a local transfer never follows. Remove the link or choose another path.",
    )


def _open_dir(parent: int, name: str) -> int:
    return os.open(name, _DIR, dir_fd=parent)


def _is_link_error(exc: OSError, parent: int, name: str) -> bool:
    """Whether opening ``name`` failed because it is a link (ELOOP, or ENOTDIR for a link
    to a folder opened with O_DIRECTORY)."""
    if exc.errno == errno.ELOOP:
        return True
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    except OSError:
        return False


@dataclasses.dataclass
class CopyResult:
    files: int = 0
    bytes: int = 0
    symlinks_skipped: int = 0
    special_skipped: int = 0
    warnings: list[str] = dataclasses.field(default_factory=list)


class Collection:
    """A collection's folder, held open; paths below it are walked without following links."""

    def __init__(self, root: pathlib.Path, collection_id: str):
        self.root, self.collection_id = root, collection_id
        try:
            self.fd = os.open(root, _DIR)
        except OSError as exc:
            # O_DIRECTORY | O_NOFOLLOW on a link gives ELOOP, or ENOTDIR when it points at a folder.
            if exc.errno != errno.ELOOP and not root.is_symlink():
                raise
            raise LinkRefused(errno.ELOOP, (
                f"Collection {collection_id}'s folder {show_path(str(root))} is now a symbolic link, which a "
                "local transfer never follows. Map the collection to the real folder again.")) from None

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def writable_by_others(self) -> str | None:
        """A one-line warning when users other than this one can write the folder."""
        info = os.fstat(self.fd)
        mode = stat.S_IMODE(info.st_mode)
        others = bool(mode & stat.S_IWOTH) or info.st_uid != os.geteuid()
        if not others and mode & stat.S_IWGRP:
            try:
                group = grp.getgrgid(info.st_gid)
                others = any(m != _username() for m in group.gr_mem)
            except KeyError:
                others = False
        if not others:
            return None
        return (f"Collection {self.collection_id}'s folder {self.root} is writable by other users "
                f"(mode {mode:04o}): they can plant links and files in it; links are never followed, "
                "but check what you copy from it.")

    def open_dir(self, parts: t.Sequence[str], what: str, *, create: bool = False) -> int:
        """An fd of the folder ``parts`` (created with its parents when ``create``)."""
        fd = os.dup(self.fd)
        try:
            for i, part in enumerate(parts):
                try:
                    child = _open_dir(fd, part)
                except FileNotFoundError:
                    if not create:
                        raise FileNotFoundError(errno.ENOENT, f"{_shown(parts[:i + 1])} does not exist") from None
                    try:
                        os.mkdir(part, 0o777, dir_fd=fd)
                    except FileExistsError:
                        pass
                    try:
                        child = _open_dir(fd, part)
                    except OSError as exc:
                        if _is_link_error(exc, fd, part):
                            raise _refuse_link(what, parts, i) from None
                        raise
                except OSError as exc:
                    if _is_link_error(exc, fd, part):
                        raise _refuse_link(what, parts, i) from None
                    if exc.errno == errno.ENOTDIR:
                        raise NotADirectoryError(errno.ENOTDIR, f"{_shown(parts[:i + 1])} is not a folder") from None
                    raise
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd


def _open_file(parent: int, name: str) -> int | None:
    """An fd of the regular file ``name`` in ``parent``; ``None`` when it is (now) a link."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=parent)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None
        raise
    return fd


def _write_file(src: int, info: os.stat_result, parent: int, name: str) -> int:
    """Copy the open regular file ``src`` to ``name`` in ``parent`` (mode and mtime kept, as
    ``shutil.copy2`` does) through a fresh temporary file renamed over ``name``."""
    tmp = f".gladier-part-{uuid.uuid4().hex}"
    out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=parent)
    size = 0
    try:
        try:
            while chunk := os.read(src, _CHUNK):
                size += len(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view):]
            os.fchmod(out, stat.S_IMODE(info.st_mode) & 0o777)
            os.utime(out, ns=(info.st_atime_ns, info.st_mtime_ns))
        finally:
            os.close(out)
        os.rename(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=parent)
        except OSError:
            pass
        raise
    return size


def copy_file(src: Collection, sparts: list[str], dst: Collection, dparts: list[str], result: CopyResult,
              recursive: bool, source_path: str) -> None:
    """Copy one transfer item: the file or (``recursive``) folder ``sparts`` to ``dparts``."""
    try:
        sparent = src.open_dir(sparts[:-1], "source_path")
    except FileNotFoundError as exc:
        raise FileNotFoundError(errno.ENOENT, f"{source_path} does not exist ({exc.strerror})") from None
    try:
        if sparts:
            try:
                info = os.stat(sparts[-1], dir_fd=sparent, follow_symlinks=False)
            except FileNotFoundError:
                raise FileNotFoundError(errno.ENOENT, f"{source_path} does not exist") from None
        else:
            info = os.fstat(sparent)
        if stat.S_ISLNK(info.st_mode):
            raise _refuse_link("source_path", sparts, len(sparts) - 1)
        if stat.S_ISDIR(info.st_mode):
            if not recursive:
                raise IsADirectoryError(errno.EISDIR, f"{source_path} is a folder and recursive is false")
            try:
                sdir = _open_dir(sparent, sparts[-1]) if sparts else os.dup(sparent)
            except OSError as exc:
                if _is_link_error(exc, sparent, sparts[-1]):
                    raise _refuse_link("source_path", sparts, len(sparts) - 1) from None
                raise
            try:
                ddir = dst.open_dir(dparts, "destination_path", create=True)
                try:
                    _copy_tree(sdir, ddir, result, dparts, {_key(os.fstat(ddir))}, 0)
                finally:
                    os.close(ddir)
            finally:
                os.close(sdir)
            return
        if not stat.S_ISREG(info.st_mode):
            raise PermissionError(errno.EPERM, f"{source_path} is not a regular file or folder")
        sfile = _open_file(sparent, sparts[-1])
        if sfile is None:
            raise _refuse_link("source_path", sparts, len(sparts) - 1)
        try:
            info = os.fstat(sfile)
            if not stat.S_ISREG(info.st_mode):
                raise PermissionError(errno.EPERM, f"{source_path} is not a regular file or folder")
            if not dparts:
                raise IsADirectoryError(errno.EISDIR, "the destination_path of a file cannot be the collection's folder")
            dparent = dst.open_dir(dparts[:-1], "destination_path", create=True)
            try:
                result.bytes += _write_file(sfile, info, dparent, dparts[-1])
                result.files += 1
            finally:
                os.close(dparent)
        finally:
            os.close(sfile)
    finally:
        os.close(sparent)


def _key(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino


def _copy_tree(sdir: int, ddir: int, result: CopyResult, dparts: list[str], made: set[tuple[int, int]],
               depth: int) -> None:
    if depth > MAX_DEPTH:
        raise OSError(errno.ELOOP, f"{_shown(dparts)}: folders nested deeper than {MAX_DEPTH} levels")
    for name in sorted(os.listdir(sdir)):
        info = os.stat(name, dir_fd=sdir, follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            result.symlinks_skipped += 1
        elif stat.S_ISDIR(info.st_mode):
            if _key(info) in made:  # the copy's own output, when copying a folder into itself
                continue
            try:
                child = _open_dir(sdir, name)
            except OSError as exc:
                if _is_link_error(exc, sdir, name):  # swapped for a link since the listing
                    result.symlinks_skipped += 1
                    continue
                raise
            try:
                parts = [*dparts, name]
                try:
                    os.mkdir(name, 0o700, dir_fd=ddir)
                    created = True
                except FileExistsError:
                    created = False
                try:
                    dchild = _open_dir(ddir, name)
                except OSError as exc:
                    if _is_link_error(exc, ddir, name):
                        raise _refuse_link("destination_path", parts, len(parts) - 1) from None
                    raise
                try:
                    made.add(_key(os.fstat(dchild)))
                    _copy_tree(child, dchild, result, parts, made, depth + 1)
                    if created:
                        os.fchmod(dchild, stat.S_IMODE(info.st_mode) & 0o777)
                finally:
                    os.close(dchild)
            finally:
                os.close(child)
        elif stat.S_ISREG(info.st_mode):
            sfile = _open_file(sdir, name)
            if sfile is None:
                result.symlinks_skipped += 1
                continue
            try:
                opened = os.fstat(sfile)
                if not stat.S_ISREG(opened.st_mode):
                    result.special_skipped += 1
                    continue
                result.bytes += _write_file(sfile, opened, ddir, name)
                result.files += 1
            finally:
                os.close(sfile)
        else:
            result.special_skipped += 1


def delete(coll: Collection, parts: list[str], *, recursive: bool, what: str = "item") -> bool:
    """Remove ``parts`` (a link itself, never its target); ``False`` when it does not exist."""
    try:
        parent = coll.open_dir(parts[:-1], what)
    except FileNotFoundError:
        return False
    try:
        try:
            info = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(info.st_mode):
            if not recursive:
                raise IsADirectoryError(errno.EISDIR, f"{_shown(parts)} is a folder and recursive is false")
            shutil.rmtree(parts[-1], dir_fd=parent)
        else:
            os.unlink(parts[-1], dir_fd=parent)
        return True
    finally:
        os.close(parent)


def listing(coll: Collection, parts: list[str]) -> list[tuple[str, os.stat_result, str | None]]:
    """``(name, lstat, link target or None)`` of each entry of the folder ``parts``."""
    fd = coll.open_dir(parts, "path")
    try:
        out = []
        for name in sorted(os.listdir(fd)):
            try:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            target = os.readlink(name, dir_fd=fd) if stat.S_ISLNK(info.st_mode) else None
            out.append((name, info, target))
        return out
    finally:
        os.close(fd)


def make_dir(coll: Collection, parts: list[str]) -> None:
    """Create the folder ``parts`` (and its parents); ``FileExistsError`` when it exists."""
    if not parts:
        raise FileExistsError(errno.EEXIST, "/ exists")
    parent = coll.open_dir(parts[:-1], "path", create=True)
    try:
        os.mkdir(parts[-1], 0o777, dir_fd=parent)
    finally:
        os.close(parent)


def entry(coll: Collection, parts: list[str]) -> tuple[str, os.stat_result, str | None]:
    """``(name, lstat, link target or None)`` of the path ``parts`` itself (a link is
    described, never followed); ``FileNotFoundError`` when it does not exist."""
    if not parts:
        return "/", os.fstat(coll.fd), None
    parent = coll.open_dir(parts[:-1], "path")
    try:
        try:
            info = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, f"{_shown(parts)} does not exist") from None
        target = os.readlink(parts[-1], dir_fd=parent) if stat.S_ISLNK(info.st_mode) else None
        return parts[-1], info, target
    finally:
        os.close(parent)


def rename(coll: Collection, old: list[str], new: list[str]) -> None:
    """Rename ``old`` to ``new`` inside the collection (a link is renamed, never followed);
    ``FileExistsError`` when ``new`` exists, as Transfer's rename refuses to overwrite."""
    if not old or not new:
        raise PermissionError(errno.EPERM, "the collection's folder itself cannot be renamed")
    src = coll.open_dir(old[:-1], "old_path")
    try:
        dst = coll.open_dir(new[:-1], "new_path")
        try:
            try:
                os.stat(old[-1], dir_fd=src, follow_symlinks=False)
            except FileNotFoundError:
                raise FileNotFoundError(errno.ENOENT, f"{_shown(old)} does not exist") from None
            try:
                os.stat(new[-1], dir_fd=dst, follow_symlinks=False)
            except FileNotFoundError:
                pass
            else:
                raise FileExistsError(errno.EEXIST, f"{_shown(new)} already exists")
            os.rename(old[-1], new[-1], src_dir_fd=src, dst_dir_fd=dst)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _username() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return ""
