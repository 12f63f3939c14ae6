"""The Kubernetes API over HTTPS for stock clients (kubectl, client-python): TLS with client
certificates, discovery, OpenAPI, server-side Tables, selectors and watches (issue 16)."""
