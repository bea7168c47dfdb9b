import sys
from pathlib import Path

# tests import their small helpers (factories) by module name
sys.path.insert(0, str(Path(__file__).parent))
