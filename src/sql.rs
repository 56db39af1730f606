//! placeholder: the SQL statement splitter is being written.
