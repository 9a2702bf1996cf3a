"""Store reports: sales per local day, preparation timings, top items and cancellations."""
