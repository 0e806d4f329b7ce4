"""Checks a cross-built aarch64 wheel: what its name promises is what it holds.

Usage: python verify_wheel.py WHEEL EXT_SUFFIX

- the file name and the WHEEL metadata carry the same tags: cp3XY, cp3XY,
  a manylinux aarch64 platform, with XY the minor version in EXT_SUFFIX;
- the one extension module is named litetrain/_core<EXT_SUFFIX>;
- every ELF file in it is 64-bit little-endian aarch64 code;
- the module needs neither libpython (manylinux) nor libLiteRt.so (loaded at
  run time from the ai-edge-litert wheel, never bundled).

Prints the tags and size; exits 1 naming the first broken promise.
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from pathlib import Path

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from packaging.utils import parse_wheel_filename

EM_AARCH64 = "EM_AARCH64"


def fail(message: str) -> None:
    sys.exit(f"verify_wheel: {message}")


def main(wheel_path: str, ext_suffix: str) -> None:
    wheel = Path(wheel_path)
    match = re.fullmatch(r"\.cpython-3(\d+)-aarch64-linux-gnu\.so", ext_suffix)
    if not match:
        fail(f"{ext_suffix!r} is not an aarch64 CPython extension suffix")
    python_tag = f"cp3{match.group(1)}"

    name, version, _, tags = parse_wheel_filename(wheel.name)
    for tag in tags:
        if (tag.interpreter, tag.abi) != (python_tag, python_tag):
            fail(f"{wheel.name}: tag {tag} is not {python_tag}-{python_tag}")
        if not re.fullmatch(r"manylinux_2_\d+_aarch64", tag.platform):
            fail(f"{wheel.name}: platform {tag.platform} is not a manylinux aarch64 one")

    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"{name}-{version}.dist-info/WHEEL").decode()
        declared = {line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Tag:")}
        if declared != {str(tag) for tag in tags}:
            fail(f"WHEEL declares {sorted(declared)}, the file name {sorted(map(str, tags))}")

        modules = [n for n in names if re.fullmatch(r"litetrain/_core\..*so", n)]
        if modules != [f"litetrain/_core{ext_suffix}"]:
            fail(f"extension modules {modules}, expected litetrain/_core{ext_suffix}")
        if any(Path(n).name.startswith("libLiteRt") for n in names):
            fail("libLiteRt.so is bundled; it must come from the ai-edge-litert wheel")

        elf_files = 0
        for member in names:
            data = archive.read(member)
            if not data.startswith(b"\x7fELF"):
                continue
            elf_files += 1
            elf = ELFFile(io.BytesIO(data))
            if elf.elfclass != 64 or not elf.little_endian or elf["e_machine"] != EM_AARCH64:
                fail(f"{member} is {elf['e_machine']}, {elf.elfclass}-bit, not 64-bit little-endian aarch64")
            needed = [
                tag.needed
                for section in elf.iter_sections()
                if isinstance(section, DynamicSection)
                for tag in section.iter_tags()
                if tag.entry.d_tag == "DT_NEEDED"
            ]
            for library in needed:
                if library.startswith(("libpython", "libLiteRt")):
                    fail(f"{member} links {library}")
            print(f"  {member}: aarch64, needs {', '.join(needed)}")

    print(f"  tags: {', '.join(sorted(map(str, tags)))}; {elf_files} ELF file(s); {wheel.stat().st_size:,} bytes")
    print(f"ok: {wheel.name}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
