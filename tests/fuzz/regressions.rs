//! Crashes and wrong answers the fuzz targets found, minimized, one named test each.
