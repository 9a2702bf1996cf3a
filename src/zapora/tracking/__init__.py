"""The public order tracking page a customer opens from the link in their confirmation."""
