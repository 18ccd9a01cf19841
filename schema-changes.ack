# Breaking changes of schema.graphql, acknowledged: one line each, as 'gateway check-schema' prints it.
FIELD_REMOVED: Field ProviderRejected.provider was removed.  # renamed rejectedBy: Provider, so a union selecting Document.provider and the error's provider does not conflict (String vs Provider!); no client yet
