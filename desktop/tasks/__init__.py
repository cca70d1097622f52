"""Pure text logic: prompt building and the like. No Qt, no database, no engine calls."""
