"""The names at a crate's root, from a cargo-public-api listing: `python3 api_roots.py CRATE FILE`."""
import re
import sys

crate, listing = sys.argv[1].replace("-", "_"), sys.argv[2]
item = re.compile(r"^(?:#\[[^\]]*\] )*pub (?:(?:unsafe |async |const )*fn|mod|use|struct|enum|trait|type|const|static|macro|union) "
                  + re.escape(crate) + r"::(\w+)(?:<[^>]*>)?(?:\(|:| |$)")
names = sorted({m.group(1) for line in open(listing) if (m := item.match(line))})
print(len(names), " ".join(names))
