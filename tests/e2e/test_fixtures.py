"""The roleplay fixtures under data/roleplay stay valid: schema, placeholders, at least four
exchanges each, and every length level well represented (scripts/check_fixtures.py)."""
import os
import subprocess
import sys

from common import SOURCE

script = os.path.join(SOURCE, "scripts", "check_fixtures.py")
p = subprocess.run([sys.executable, script], capture_output=True, text=True)
print(p.stdout[-2000:], p.stderr[-2000:])
sys.exit(p.returncode)
