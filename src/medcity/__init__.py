"""medcity: a unified medical information and analytics system for a city or a region."""

__version__ = "0.1.0"
