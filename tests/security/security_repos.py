"""Temporary git repositories holding fake secrets, for the secrets tests."""

import subprocess
from pathlib import Path

AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7b9VqX1Y2Z3\n-----END RSA PRIVATE KEY-----\n"
HEX_TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6"
REMOVED_TOKEN = "c0ffee5b4a39281706f5e4d3c2b1a0f9e8d7c6aa"
PLAINTEXTS = [AWS_KEY_ID, AWS_SECRET, HEX_TOKEN, REMOVED_TOKEN, "MIIEpAIBAAKCAQEA7b9VqX1Y2Z3"]


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(root: Path) -> Path:
    """Create a repository: config.py (AWS keys), id_rsa, tokens.py; old.py added then removed in a commit."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.org")
    git(root, "config", "user.name", "Dev")
    git(root, "config", "commit.gpgsign", "false")
    (root / "config.py").write_text(
        f'AWS_ACCESS_KEY_ID = "{AWS_KEY_ID}"\naws_secret_access_key = "{AWS_SECRET}"\n'
    )
    (root / "id_rsa").write_text(PRIVATE_KEY)
    (root / "tokens.py").write_text(f'# deploy token\nvalue = "{HEX_TOKEN}"\n')
    (root / "old.py").write_text(f'api_token = "{REMOVED_TOKEN}"\n')
    (root / "README.md").write_text("# Shop\n\nNothing secret here.\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    git(root, "rm", "-q", "old.py")
    git(root, "commit", "-q", "-m", "remove the token")
    return root
