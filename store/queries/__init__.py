"""Read queries over the store, one module per aggregate; nothing here knows the layers above."""
