"""platform: one Pulumi program, three stacks; the stack's config chooses the topology."""

from components.settings import load_settings
from components.topologies import build

# Settings are validated in full before the first resource is registered.
build(load_settings())
