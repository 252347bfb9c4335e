"""The desk's work plan, five weeks rolling (五周滚动计划, R26): tasks, done or carried over."""
