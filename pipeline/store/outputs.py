"""Everything the pipeline writes outside the revision store goes through here.

- `write_output(path, data)` / `write_outputs(files, remove)`: a file a user names (`diff --out`,
  `status --html`, …) or a default output under out/ (CBAM workbook, 자료요청서, PDFs, preview
  pages, 평가표 and CSV); a set of files is written together or not at all. Refused (OutputError: exit 2, Korean message, nothing written) when the
  target is protected: inside the revision store, the profiles folder, content/ or the project's
  own code (see `protected_reason`), or one of the files `plan` publishes in out/<id>/. Otherwise
  written atomically (store/atomic.py); a target in out/<id>/ is written under that folder's lock.
- `out_folder(name)`: out/<name>/ under its lock (`out/.<name>.lock`, beside the folder, so it
  survives the folder being swapped), after recovering a swap a killed run left unfinished.
- `replace_folder(target, files, carry)`: replaces a folder as a whole: the new one is built
  beside it (`.<name>.new-*`), then `target` → `.<name>.old`, new → `target`, and `.old` removed.
  A reader sees the old folder or the new one (or, for an instant, none), never a mix.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
import uuid
from typing import Callable, Iterable, Iterator

from pipeline.errors import OutputError, os_reason
from pipeline.locations import PROJECT_ROOT, companies_dir, content_root, env_path, out_root, store_root
from pipeline.store.atomic import default_mode, file_lock, fsync_dir, stage_file, write_file

# What `plan` publishes in out/<id>/ (publish/documents.py): never a target of another output.
PUBLISHED = ("diagnosis.docx", "matching.docx", "plan.docx", "context.json")
MARKER = ".revision"
# The project's own code and data, besides the configurable folders.
PROJECT_FOLDERS = ("pipeline", "templates", "tools", "tests", "docs", "content", "companies", "revisions",
                   "applications", ".git", ".venv", ".ci")
CODE_SUFFIXES = (".py", ".pyc", ".toml", ".cfg", ".ini", ".md", ".txt", ".yaml", ".yml", ".lock", ".sh")
CODE_FILES = ("Makefile", "LICENSE")


def _forms(path: Path) -> set[Path]:
    """The path as written (made absolute) and with every symlink resolved."""
    forms = {Path(os.path.abspath(path))}
    with contextlib.suppress(OSError, RuntimeError):
        forms.add(Path(path).resolve())
    return forms


def _inside(path_forms: set[Path], root: Path) -> bool:
    return any(p == r or r in p.parents for p in path_forms for r in _forms(root))


def _protected_roots() -> list[tuple[Path, str]]:
    roots = [(store_root(), "리비전 저장소(CARBON_REVISIONS_DIR)"), (companies_dir(), "기업 프로필 폴더(CARBON_COMPANIES_DIR)"),
             (content_root(), "content/ 자료 폴더(CARBON_CONTENT_DIR)")]
    applications = env_path("CARBON_APPLICATIONS_DIR")
    if applications:
        roots.append((applications, "신청서 폴더(CARBON_APPLICATIONS_DIR)"))
    return roots + [(PROJECT_ROOT / name, f"프로젝트의 {name}/ 폴더") for name in PROJECT_FOLDERS]


def protected_reason(path: Path) -> str | None:
    """Why `path` must not be written as an output (Korean), or None when it may be."""
    forms = _forms(path)
    for root, label in _protected_roots():
        if _inside(forms, root):
            return f"{label} 안입니다 ({root})"
    project = _forms(PROJECT_ROOT)
    for p in forms:
        if p.parent in project and (p.name.startswith(".") or p.suffix.lower() in CODE_SUFFIXES or p.name in CODE_FILES):
            return f"프로젝트의 코드·설정 파일 자리입니다 ({PROJECT_ROOT})"
        if p.parent.parent in _forms(out_root()) and (p.name in PUBLISHED or p.name.startswith(".")):
            return f"plan이 out/{p.parent.name}/에 게시하는 최신본 파일입니다"
    return None


def check_folder(target: Path) -> Path:
    """`target` if it may be replaced as a whole (out/<id>/); OutputError when it is, or holds,
    something protected (CARBON_OUT_DIR pointing at the revision store, the project, …)."""
    reason = protected_reason(target)
    if reason is None:
        forms = _forms(target)
        for root, label in _protected_roots() + [(PROJECT_ROOT, "프로젝트 폴더")]:
            if any(_inside(_forms(root), form) for form in forms):
                reason = f"{label}({root})를 포함하는 폴더입니다"
                break
    if reason:
        raise OutputError(f"{target}을(를) 최신본 폴더로 바꿔 쓸 수 없습니다: {reason}. CARBON_OUT_DIR를 확인하세요 "
                          "(out/은 저장소·프로필·자료·코드와 겹칠 수 없습니다)")
    return target


def check_output(path: Path) -> Path:
    """`path` if it may be written as an output; OutputError (nothing written) otherwise."""
    reason = protected_reason(path)
    if reason:
        raise OutputError(f"{path}에는 쓰지 않습니다: {reason}. 저장된 리비전, 프로필, 자료와 코드는 출력 대상이 될 수 "
                          "없습니다. 다른 경로를 주세요 (아무것도 쓰지 않았습니다)")
    if Path(path).is_dir():
        raise OutputError(f"{path}은(는) 폴더입니다. 파일 경로를 주세요 (아무것도 쓰지 않았습니다)")
    return Path(path)


def write_output(path: Path, data: bytes) -> Path:
    """Write one output file atomically after `check_output`; OutputError for any failure."""
    return write_outputs({Path(path): data})[0]


def write_outputs(files: dict[Path, bytes], remove: Iterable[Path] = ()) -> list[Path]:
    """Write several output files (and remove stale ones, e.g. pages of a longer earlier preview)
    together or not at all: each is checked (`check_output`) and staged in a temporary file beside
    its target first, where a full disk or a missing permission shows; only then are they renamed
    into place, under the lock of each out/<id>/ they are in. If a rename fails, the files already
    replaced get their previous content back. OutputError (exit 2, nothing changed) for any failure."""
    paths = [check_output(Path(p)) for p in files]
    stale = [Path(p) for p in remove if Path(p) not in set(paths)]
    staged: dict[Path, Path] = {}
    try:
        with _out_folders_of(paths + stale):
            for path, data in zip(paths, files.values()):
                staged[path] = stage_file(path, data)
            _swap_in(staged, stale)
    except OSError as exc:
        where = exc.filename or (paths[0] if len(paths) == 1 else ", ".join(str(p) for p in paths))
        raise OutputError(f"{where}에 쓸 수 없습니다: {os_reason(exc)}. 폴더, 쓰기 권한과 디스크 공간을 "
                          "확인하세요 (아무것도 쓰지 않았습니다; 이전 파일은 그대로입니다)") from None
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
    return paths


def _swap_in(staged: dict[Path, Path], stale: list[Path]) -> None:
    """Rename the staged files onto their targets and remove `stale`; all or nothing."""
    backups: dict[Path, Path] = {}
    done: list[Path] = []
    try:
        for path in [*staged, *stale]:
            if path.is_file() and not path.is_symlink():
                backup = path.with_name(f".{path.name}.prev-{uuid.uuid4().hex[:8]}")
                os.link(path, backup)
                backups[path] = backup
        for path, tmp in staged.items():
            os.replace(tmp, path)
            done.append(path)
        for path in stale:
            path.unlink(missing_ok=True)
            done.append(path)
        for folder in {p.parent for p in done}:
            fsync_dir(folder)
    except BaseException:
        for path in done:
            if path in backups:
                os.replace(backups.pop(path), path)
            else:
                path.unlink(missing_ok=True)
        raise
    finally:
        for backup in backups.values():
            backup.unlink(missing_ok=True)


@contextlib.contextmanager
def _out_folders_of(paths: list[Path]) -> Iterator[None]:
    """The locks of the out/<id>/ folders `paths` are in (a plan may be swapping one), in name order."""
    root = Path(os.path.abspath(out_root()))
    names = set()
    for path in paths:
        absolute = Path(os.path.abspath(path))
        if root in absolute.parents and absolute.parent != root:
            names.add(absolute.relative_to(root).parts[0])
    with contextlib.ExitStack() as stack:
        for name in sorted(names):
            stack.enter_context(out_folder(name))
        yield


@contextlib.contextmanager
def out_folder(name: str) -> Iterator[Path]:
    """out/<name>/ (maybe absent) under its lock, with a swap left unfinished by a killed run recovered."""
    root = out_root()
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / f".{name}.lock"):
        target = check_folder(root / name)
        recover_folder(target)
        yield target


@contextlib.contextmanager
def locked_folder(target: Path) -> Iterator[Path]:
    """A data folder (applications/<year>/) under its lock (`.<name>.lock` beside it), with a swap a
    killed run left unfinished recovered first: for writers that replace it with `replace_folder`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f".{target.name}.lock"):
        recover_folder(target)
        yield target


def _old(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


def recover_folder(target: Path) -> None:
    """Finish or undo a swap a killed run left behind (call under the folder's lock): the previous
    folder comes back whole if the new one never arrived; leftovers are removed."""
    old = _old(target)
    if old.exists() or old.is_symlink():
        if not (target.exists() or target.is_symlink()):
            os.rename(old, target)
        else:
            _remove(old)
    for leftover in target.parent.glob(f".{target.name}.new-*"):
        _remove(leftover)


def replace_folder(target: Path, files: dict[str, bytes], carry: Callable[[str], bool] | None = None) -> None:
    """Make `target` a folder holding exactly `files`, plus the old folder's entries `carry(name)`
    accepts; as a whole or not at all. Call under the folder's lock (`out_folder`)."""
    new = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    old = _old(target)
    try:
        os.chmod(new, default_mode(directory=True))
        for name, data in files.items():
            write_file(new / name, data)
        if carry is not None and target.is_dir() and not target.is_symlink():
            for entry in target.iterdir():
                if entry.name not in files and carry(entry.name):
                    _copy(entry, new / entry.name)
        fsync_dir(new)
        if target.exists() or target.is_symlink():
            os.rename(target, old)
        try:
            os.rename(new, target)
        except BaseException:
            if (old.exists() or old.is_symlink()) and not target.exists():
                os.rename(old, target)
            raise
        fsync_dir(target.parent)
    except BaseException:
        _remove(new)
        raise
    _remove(old)


def _copy(source: Path, dest: Path) -> None:
    if source.is_symlink():
        os.symlink(os.readlink(source), dest)
    elif source.is_dir():
        shutil.copytree(source, dest, symlinks=True)
    else:
        try:
            os.link(source, dest)  # the file is replaced, never changed in place: sharing it is safe
        except OSError:
            shutil.copy2(source, dest)


def _remove(path: Path) -> None:
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)
    except OSError:
        pass
