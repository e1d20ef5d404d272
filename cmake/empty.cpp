// The shared library's own translation unit: its content is the public API linked in whole (cmake/install.cmake).
