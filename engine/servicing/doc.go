// Package servicing is offline servicing of Windows images without Windows.
//
// A Session (Begin) stages changes to one disabled image of a store — add,
// delete, rename, replace files and folders, registry hive edits
// (EditHive, ImportReg), driver packages (AddDriver) and a new
// ImageUnattend.xml — and persists them under the store's
// WdsConsole/servicing/<id> folder, so that it survives restarts (Stale
// lists the sessions found at start-up). Commit writes the new metadata and
// only the new data into the group's Res.rwm through store.CommitImage,
// crash-safe and journaled, as an update of the image or as a new image.
// Mount extracts an image to a working folder and Unmount commits what
// changed there, reading only new and changed files. List, Search,
// FindInGroup and Extract browse images without extracting them.
//
// Its building blocks live in subpackages: hive (registry hives through
// libhivex), regfile (.reg files), inf (driver INF files) and unattend
// (ImageUnattend.xml).
package servicing
