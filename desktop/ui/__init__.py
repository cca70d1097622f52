"""The Qt desktop interface. Qt lives only in this package; it calls the services, nothing lower."""
