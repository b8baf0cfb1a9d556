"""Generate speed_of_sound.csv: measurements of the speed of sound in dry air.

Physical law: c = 331.3 * sqrt(1 + T / 273.15) m/s (T in degrees Celsius), independent of
pressure; humidity has a tiny effect that we leave out. Pressure and humidity are recorded as
distractors, and the speeds carry 0.3 m/s of measurement noise. Run from this folder:

    python make_speed_of_sound.py
"""

import numpy as np

rng = np.random.default_rng(2024)
n = 400
temperature = rng.uniform(-50, 400, n)  # from a cold day to a hot-air duct
pressure = rng.uniform(90, 105, n)
humidity = rng.uniform(5, 95, n)
speed = 331.3 * np.sqrt(1 + temperature / 273.15) + rng.normal(0, 0.3, n)
with open("speed_of_sound.csv", "w") as f:
    f.write("temperature_C,pressure_kPa,humidity_pct,speed_m_s\n")
    for row in zip(temperature, pressure, humidity, speed):
        f.write(",".join(f"{v:.3f}" for v in row) + "\n")
