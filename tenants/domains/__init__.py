"""Custom domains: an organization's own host names (app.customer.com), verified by a DNS TXT
record or an HTTP token before they route to it like its primary domain."""
