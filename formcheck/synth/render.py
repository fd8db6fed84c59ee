"""Camera, scene and a small z-buffered numpy ray caster for the mannequin.

Bodies are drawn as round cones (tapered capsules) and ellipsoids, intersected exactly per pixel
inside each primitive's screen bounding box; the floor, wall and props (boxes: chair, mat) are
static for a clip and rendered once. Shading is Lambert plus a sky term; faces get eyes, brows,
mouth and hair from the head's local coordinates, because MediaPipe's detector keys on faces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from formcheck.synth.body import SIDE_SIGN, SIDES, BodyShape, Skeleton

UP = np.array([0.0, 1.0, 0.0])

# --------------------------------------------------------------------------- camera


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: pixel (0,0) is the top-left corner, pixel centres sit at +0.5."""

    position_m: tuple[float, float, float]
    look_at_m: tuple[float, float, float]
    focal_px: float
    width_px: int
    height_px: int

    @property
    def basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(right, up, forward) unit vectors in world coordinates."""
        f = np.asarray(self.look_at_m, float) - np.asarray(self.position_m, float)
        f /= np.linalg.norm(f)
        r = np.cross(f, UP)
        r /= np.linalg.norm(r)
        return r, np.cross(r, f), f

    def to_camera(self, pts: np.ndarray) -> np.ndarray:
        """World points (...,3) in camera coordinates (x right, y down, z forward; right-handed)."""
        r, u, f = self.basis
        rel = np.asarray(pts, float) - np.asarray(self.position_m, float)
        return np.stack([rel @ r, -(rel @ u), rel @ f], axis=-1)

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (...,2) and depth along the optical axis (...) of world points."""
        c = self.to_camera(pts)
        z = np.maximum(c[..., 2], 1e-6)
        px = self.width_px / 2 + self.focal_px * c[..., 0] / z
        py = self.height_px / 2 + self.focal_px * c[..., 1] / z
        return np.stack([px, py], axis=-1), c[..., 2]

    def rays(self) -> np.ndarray:
        """Unit ray directions (H,W,3) through every pixel centre."""
        r, u, f = self.basis
        xs = (np.arange(self.width_px) + 0.5 - self.width_px / 2) / self.focal_px
        ys = (np.arange(self.height_px) + 0.5 - self.height_px / 2) / self.focal_px
        d = f[None, None, :] + xs[None, :, None] * r[None, None, :] - ys[:, None, None] * u[None, None, :]
        return (d / np.linalg.norm(d, axis=-1, keepdims=True)).astype(np.float64)

    def to_dict(self) -> dict:
        # enough digits that the recorded camera reprojects the landmarks to < 0.01 px
        """The camera as JSON-safe values."""
        return {"position_m": [round(float(v), 7) for v in self.position_m],
                "look_at_m": [round(float(v), 7) for v in self.look_at_m],
                "focal_px": round(float(self.focal_px), 5)}


def orbit_position(target: np.ndarray, azimuth_deg: float, elevation_deg: float, distance_m: float) -> np.ndarray:
    """Camera position around ``target``: azimuth 0 on +x (the body's front/feet), 90 on -z (its left)."""
    a, e = np.radians(azimuth_deg), np.radians(elevation_deg)
    return target + distance_m * np.array([np.cos(e) * np.cos(a), np.sin(e), -np.cos(e) * np.sin(a)])


def fit_camera(points: np.ndarray, azimuth_deg: float, elevation_deg: float, size: tuple[int, int],
               fov_deg: float = 60.0, fill: float = 0.8) -> Camera:
    """A camera on the given orbit that frames ``points`` (M,3) to ``fill`` of the image, centred."""
    w, h = size
    focal = (w / 2) / np.tan(np.radians(fov_deg) / 2)
    pts = np.asarray(points, float).reshape(-1, 3)
    target = (pts.min(0) + pts.max(0)) / 2
    dist = 3.0
    for _ in range(6):
        cam = Camera(tuple(orbit_position(target, azimuth_deg, elevation_deg, dist)), tuple(target), focal, w, h)
        px, depth = cam.project(pts)
        lo, hi = px.min(0), px.max(0)
        # re-centre: shift the target by the pixel offset of the bbox centre at the target's depth
        off = (lo + hi) / 2 - np.array([w / 2, h / 2])
        r, u, _ = cam.basis
        target = target + (off[0] * r - off[1] * u) * dist / focal
        scale = max((hi[0] - lo[0]) / (fill * w), (hi[1] - lo[1]) / (fill * h))
        near = depth.min()
        dist = max(0.5, near * scale + (dist - near))
    return Camera(tuple(orbit_position(target, azimuth_deg, elevation_deg, dist)), tuple(target), focal, w, h)


# --------------------------------------------------------------------------- primitives


@dataclass(frozen=True)
class Prim:
    """A body primitive over N frames: a round cone (p0,r0)-(p1,r1) or an ellipsoid (p0, axes, semi)."""

    part: str
    kind: str  # "cone" | "ellipsoid"
    p0: np.ndarray  # (N,3)
    material: str  # "solid" | "bands" | "head" | "shoe"
    colours: tuple
    p1: np.ndarray | None = None
    r0: float = 0.0
    r1: float = 0.0
    axes: np.ndarray | None = None  # (N,3,3) columns = local axes in world (ellipsoid / material frame)
    semi: tuple[float, float, float] | None = None
    scale_m: float = 1.0  # length unit of material coordinates (body height)

    def lowest_y(self) -> np.ndarray:
        """Lowest surface height (N,)."""
        if self.kind == "cone":
            return np.minimum(self.p0[:, 1] - self.r0, self.p1[:, 1] - self.r1)
        s = np.asarray(self.semi)
        return self.p0[:, 1] - np.sqrt(np.sum((self.axes[:, 1, :] * s) ** 2, axis=-1))

    def bounding_spheres(self, i: int) -> list[tuple[np.ndarray, float]]:
        """Spheres that bound the primitive's ``i``-th instance, for culling."""
        if self.kind == "cone":
            return [(self.p0[i], self.r0), (self.p1[i], self.r1)]
        return [(self.p0[i], float(max(self.semi)))]


def _lerp(a, b, t):
    return a + (b - a) * t


def body_primitives(body: BodyShape, sk: Skeleton) -> list[Prim]:
    """The mannequin's primitives for every frame of a skeleton."""
    h, g = body.height_m, body.girth
    j, fr = sk.joints, sk.frames
    skin, shirt, shorts = body.skin_rgb, body.shirt_rgb, body.shorts_rgb

    def at(origin: str, frame: str, v) -> np.ndarray:
        return j[origin] + np.einsum("nij,j->ni", fr[frame], np.asarray(v, float) * h)

    def ell(part, centre, frame, semi, material, colours):
        return Prim(part, "ellipsoid", centre, material, colours, axes=fr[frame],
                    semi=tuple(float(s) * h for s in semi), scale_m=h)

    def cone(part, a, b, ra, rb, material, colours, frame=None):
        return Prim(part, "cone", a, material, colours, p1=b, r0=ra * h, r1=rb * h,
                    axes=None if frame is None else fr[frame], scale_m=h)

    prims = [
        ell("pelvis", at("pelvis", "pelvis", [-0.004, 0.024, 0]), "pelvis", [0.058 * g, 0.068, 0.097 * g],
            "solid", (shorts,)),
        ell("abdomen", at("lumbar", "lumbar", [0.002, 0.035, 0]), "lumbar", [0.056 * g, 0.100, 0.088 * g],
            "solid", (shirt,)),
        ell("chest", at("chest", "chest", [0.004, 0.040, 0]), "chest", [0.061 * g, 0.088, 0.098 * g],
            "solid", (shirt,)),
        # a yoke across the shoulders so the chest widens smoothly into round shoulders
        cone("yoke", j["left_shoulder"] + np.einsum("nij,j->ni", fr["chest"], [0, -0.004 * h, 0]),
             j["right_shoulder"] + np.einsum("nij,j->ni", fr["chest"], [0, -0.004 * h, 0]),
             0.030 * g, 0.030 * g, "solid", (shirt,)),
        cone("neck", at("neck", "chest", [0.0, -0.02, 0]), at("head", "head", [-0.010, -0.045, 0]),
             0.028 * g, 0.026 * g, "solid", (skin,)),
        ell("head", j["head"], "head", [0.058, 0.068, 0.046], "head", (skin, body.hair_rgb)),
        cone("nose", at("head", "head", [0.050, 0.008, 0]), at("head", "head", [0.062, -0.012, 0]),
             0.006, 0.0075, "solid", (tuple(c * 0.95 for c in skin),)),
    ]
    for side in SIDES:
        s = SIDE_SIGN[side]
        prims += [
            ell(f"{side}_ear", at("head", "head", [-0.004, 0.0, s * 0.044]), "head", [0.012, 0.019, 0.007],
                "solid", (tuple(c * 0.92 for c in skin),)),
            cone(f"{side}_upper_arm", j[f"{side}_shoulder"], j[f"{side}_elbow"], 0.030 * g, 0.021 * g,
                 "bands", ((body.sleeve_frac, shirt), (1.01, skin))),
            cone(f"{side}_forearm", j[f"{side}_elbow"], j[f"{side}_wrist"], 0.020 * g, 0.014 * g,
                 "solid", (skin,)),
            ell(f"{side}_hand", at(f"{side}_wrist", f"{side}_forearm", [0.004, -0.044, 0]),
                f"{side}_forearm", [0.024, 0.050, 0.012], "solid", (skin,)),
            cone(f"{side}_thigh", j[f"{side}_hip"], j[f"{side}_knee"], 0.054 * g, 0.034 * g,
                 "bands", ((body.shorts_frac, shorts), (1.01, skin))),
            cone(f"{side}_shank", j[f"{side}_knee"], j[f"{side}_ankle"], 0.033 * g, 0.021 * g,
                 "bands", ((0.82, skin), (1.01, (0.95, 0.95, 0.95)))),
            ell(f"{side}_calf", at(f"{side}_knee", f"{side}_shank", [-0.008, -0.075, 0]), f"{side}_shank",
                [0.034 * g, 0.075, 0.031 * g], "solid", (skin,)),
            cone(f"{side}_foot", at(f"{side}_ankle", f"{side}_foot", [-0.015, -0.018, 0]),
                 at(f"{side}_ankle", f"{side}_foot", [0.092, -0.023, 0]), 0.021, 0.015,
                 "shoe", (body.shoe_rgb, _sole(body.shoe_rgb)), frame=f"{side}_foot"),
            ell(f"{side}_shoe_top", at(f"{side}_ankle", f"{side}_foot", [0.010, -0.008, 0]), f"{side}_foot",
                [0.040, 0.026, 0.023], "shoe", (body.shoe_rgb, _sole(body.shoe_rgb))),
        ]
    # shoe materials need the foot frame and ankle as origin
    out = []
    for pr in prims:
        if pr.material == "shoe":
            side = pr.part.split("_")[0]
            pr = Prim(pr.part, pr.kind, pr.p0, pr.material, pr.colours + (j[f"{side}_ankle"],), pr.p1, pr.r0,
                      pr.r1, fr[f"{side}_foot"] if pr.kind == "cone" else pr.axes, pr.semi, pr.scale_m)
        out.append(pr)
    return out


def _sole(shoe_rgb) -> tuple[float, float, float]:
    """A sole that contrasts with the upper."""
    return (0.92, 0.92, 0.9) if np.mean(shoe_rgb) < 0.6 else (0.2, 0.2, 0.22)


# --------------------------------------------------------------------------- props and background


@dataclass(frozen=True)
class Box:
    """An axis-aligned box prop (chair part, exercise mat), static for the clip."""

    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    rgb: tuple[float, float, float]


def chair(front_x_m: float, z_m: float = 0.0, facing: float = 1.0, seat_h_m: float = 0.46,
          back_h_m: float = 0.9, width_m: float = 0.44, depth_m: float = 0.42,
          rgb=(0.42, 0.26, 0.14)) -> list[Box]:
    """A simple chair whose backrest stands at ``front_x_m`` and whose seat extends toward ``facing``."""
    x0, x1 = (front_x_m, front_x_m + facing * depth_m)
    xa, xb = min(x0, x1), max(x0, x1)
    zl, zr = z_m - width_m / 2, z_m + width_m / 2
    leg, rail = 0.035, 0.05
    back_x = (x0, x0 + facing * leg)
    bx0, bx1 = min(back_x), max(back_x)
    boxes = [Box((xa, seat_h_m - 0.04, zl), (xb, seat_h_m, zr), rgb)]
    for z in (zl, zr - leg):
        far = (x1 - facing * leg)
        boxes.append(Box((min(far, x1), 0.0, z), (max(far, x1), seat_h_m, z + leg), rgb))
        boxes.append(Box((bx0, 0.0, z), (bx1, back_h_m, z + leg), rgb))
    boxes.append(Box((bx0, back_h_m - rail, zl), (bx1 + 0.01, back_h_m, zr), rgb))
    boxes.append(Box((bx0, back_h_m - 0.22, zl), (bx1, back_h_m - 0.18, zr), rgb))
    return boxes


def mat(x0_m: float, x1_m: float, z_half_m: float = 0.32, rgb=(0.30, 0.45, 0.55)) -> list[Box]:
    """A thin exercise mat lying on the floor."""
    return [Box((x0_m, 0.0, -z_half_m), (x1_m, 0.008, z_half_m), rgb)]


@dataclass(frozen=True)
class Room:
    """Floor and wall colours."""

    floor_rgb: tuple[float, float, float] = (0.62, 0.48, 0.34)
    wall_rgb: tuple[float, float, float] = (0.86, 0.84, 0.78)
    wall_distance_m: float = 1.6  # behind the subject, along the camera's line of sight


def _hash(k: np.ndarray) -> np.ndarray:
    return (np.sin(k * 12.9898 + 78.233) * 43758.5453) % 1.0


def _box_hits(ro: np.ndarray, rd: np.ndarray, boxes: Sequence[Box]) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hit distance and colour per ray (M,) over a set of boxes (inf where nothing is hit)."""
    t_best = np.full(rd.shape[:-1], np.inf)
    rgb = np.zeros(rd.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / rd
        for b in boxes:
            t1 = (np.asarray(b.lo) - ro) * inv
            t2 = (np.asarray(b.hi) - ro) * inv
            tn = np.nanmax(np.minimum(t1, t2), axis=-1)
            tf = np.nanmin(np.maximum(t1, t2), axis=-1)
            axis = np.argmax(np.minimum(t1, t2), axis=-1)
            hit = (tn <= tf) & (tn > 0) & (tn < t_best)
            shade = np.array([0.78, 1.0, 0.88])[axis]  # top faces lit, sides darker
            t_best = np.where(hit, tn, t_best)
            rgb[hit] = np.asarray(b.rgb) * shade[hit, None]
    return t_best, rgb


def render_background(cam: Camera, rays: np.ndarray, room: Room, props: Sequence[Box], seed: int = 0
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Static layer: colour (H,W,3), ray distance (H,W), and floor hit points (H,W,3) (NaN off-floor)."""
    ro = np.asarray(cam.position_m, float)
    h, w = rays.shape[:2]
    rgb = np.zeros((h, w, 3))
    depth = np.full((h, w), np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_floor = np.where(rays[..., 1] < -1e-9, -ro[1] / rays[..., 1], np.inf)
        fwd = np.asarray(cam.look_at_m, float) - ro
        fwd[1] = 0
        fwd /= max(np.linalg.norm(fwd), 1e-9)
        wall_pt = np.asarray(cam.look_at_m, float) + fwd * room.wall_distance_m
        denom = rays @ fwd
        t_wall = np.where(denom > 1e-9, ((wall_pt - ro) @ fwd) / denom, np.inf)
    floor = t_floor < t_wall
    wall = ~floor & np.isfinite(t_wall)
    # floor: wooden planks along world x
    p = ro + rays * np.where(floor, t_floor, 0)[..., None]
    plank = np.floor(p[..., 2] / 0.14)
    seg = np.floor(p[..., 0] / 1.2 + _hash(plank) * 3)
    tone = 0.86 + 0.16 * _hash(plank * 7.1 + seg * 3.3)
    grain = 1.0 + 0.035 * np.sin(p[..., 0] * 37 + 5 * np.sin(p[..., 2] * 9 + plank))
    gap = (np.abs(p[..., 2] / 0.14 - np.round(p[..., 2] / 0.14)) < 0.035) * 0.25
    floor_rgb = np.asarray(room.floor_rgb) * (tone * grain * (1 - gap))[..., None]
    rgb[floor] = floor_rgb[floor]
    depth[floor] = t_floor[floor]
    # wall: plain paint with a skirting board
    pw = ro + rays * np.where(wall, t_wall, 0)[..., None]
    wall_rgb = np.broadcast_to(np.asarray(room.wall_rgb), (h, w, 3)).copy()
    wall_rgb[pw[..., 1] < 0.09] = (0.95, 0.95, 0.93)
    wall_rgb *= (0.97 + 0.03 * np.sin(pw[..., 1] * 3.0))[..., None]
    rgb[wall] = wall_rgb[wall]
    depth[wall] = t_wall[wall]
    if props:
        t_box, box_rgb = _box_hits(ro, rays, props)
        near = t_box < depth
        rgb[near] = box_rgb[near]
        depth[near] = t_box[near]
        floor &= ~near
    # a little vignetting, like a phone camera
    yy, xx = np.mgrid[0:h, 0:w]
    v = 1 - 0.18 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2)
    rgb *= v[..., None]
    floor_pts = np.where(floor[..., None], p, np.nan)
    return rgb, depth, floor_pts


# --------------------------------------------------------------------------- ray casting


def _hit_round_cone(ro, rd, pa, pb, ra, rb):
    """Exact ray / round-cone intersection (after Inigo Quilez); returns t (inf = miss) and normals."""
    ba = pb - pa
    oa = ro - pa
    ob = ro - pb
    rr = ra - rb
    m0 = ba @ ba
    m1 = ba @ oa
    m2 = rd @ ba
    m3 = rd @ oa
    m5 = oa @ oa
    m6 = rd @ ob
    m7 = ob @ ob
    d2 = m0 - rr * rr
    k2 = d2 - m2 * m2
    k1 = d2 * m3 - m1 * m2 + m2 * rr * ra
    k0 = d2 * m5 - m1 * m1 + m1 * rr * ra * 2.0 - m0 * ra * ra
    hh = k1 * k1 - k0 * k2
    with np.errstate(invalid="ignore", divide="ignore"):
        tb = (-np.sqrt(hh) - k1) / k2
        y = m1 - ra * rr + tb * m2
        body = (hh >= 0) & (y > 0) & (y < d2)
        h1 = m3 * m3 - m5 + ra * ra
        h2 = m6 * m6 - m7 + rb * rb
        t1 = np.where(h1 > 0, -m3 - np.sqrt(h1), np.inf)
        t2 = np.where(h2 > 0, -m6 - np.sqrt(h2), np.inf)
    # every candidate lies on or inside the hull, so the entry point is the nearest one
    tb = np.where(body & (tb > 0), tb, np.inf)
    t = np.minimum(tb, np.minimum(t1, t2))
    which = np.where(tb <= np.minimum(t1, t2), 0, np.where(t1 <= t2, 1, 2))
    t = np.where(t > 0, t, np.inf)
    p_rel = oa + np.where(np.isfinite(t), t, 0.0)[:, None] * rd  # relative to pa
    n_body = d2 * p_rel - np.outer(np.where(body, y, 0), ba)
    n = np.where((which == 0)[:, None], n_body, np.where((which == 1)[:, None], p_rel, p_rel - ba))
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    return t, n


def _hit_ellipsoid(ro, rd, centre, axes, semi):
    """Exact ray / ellipsoid intersection; returns t (inf = miss) and normals."""
    s = np.asarray(semi)
    o = (axes.T @ (ro - centre)) / s
    d = (rd @ axes) / s
    a = np.einsum("ij,ij->i", d, d)
    b = d @ o
    c = o @ o - 1.0
    disc = b * b - a * c
    with np.errstate(invalid="ignore"):
        t = (-b - np.sqrt(disc)) / a
    t = np.where((disc >= 0) & (t > 0), t, np.inf)
    q = o + np.where(np.isfinite(t), t, 0.0)[:, None] * d
    n = (q / s) @ axes.T
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    return t, n


def _head_colours(q: np.ndarray, skin, hair) -> np.ndarray:
    """Face texture from head-local coordinates q (M,3) in fractions of body height."""
    x, y, z = q[:, 0], q[:, 1], q[:, 2]
    rgb = np.broadcast_to(np.asarray(skin, float), q.shape).copy()
    hairline = np.interp(x, [-0.07, -0.035, -0.005, 0.02, 0.04, 0.07], [-0.045, -0.03, 0.012, 0.028, 0.036, 0.04])
    rgb[y > hairline] = hair
    front = x > 0.03
    dz = np.abs(z) - 0.019
    dy = y - 0.008
    sclera = front & ((dz / 0.0095) ** 2 + (dy / 0.0048) ** 2 < 1)
    iris = front & (dz * dz + dy * dy < 0.0044 ** 2)
    pupil = front & (dz * dz + dy * dy < 0.0020 ** 2)
    rgb[sclera] = (0.97, 0.97, 0.96)
    rgb[iris] = (0.30, 0.20, 0.12)
    rgb[pupil] = (0.03, 0.03, 0.03)
    brow = front & (np.abs(dz) < 0.011) & (dy > 0.010) & (dy < 0.015)
    rgb[brow] = np.asarray(hair) * 0.7
    lip = front & (np.abs(z) < 0.014) & (np.abs(y + 0.032) < 0.0042 * np.clip(1 - (z / 0.015) ** 2, 0, 1) + 1e-9)
    rgb[lip] = (0.62, 0.28, 0.28)
    rgb[lip & (np.abs(y + 0.032) < 0.0008)] = (0.25, 0.08, 0.08)
    return rgb


def _prim_colours(pr: Prim, i: int, pts: np.ndarray) -> np.ndarray:
    """Albedo (M,3) of a primitive at its hit points for frame i."""
    if pr.material == "solid":
        return np.broadcast_to(np.asarray(pr.colours[0], float), pts.shape)
    if pr.material == "bands":
        ab = pr.p1[i] - pr.p0[i]
        t = (pts - pr.p0[i]) @ ab / (ab @ ab)
        rgb = np.empty(pts.shape)
        lo = -np.inf
        for t_max, col in pr.colours:
            sel = (t >= lo) & (t < t_max)
            rgb[sel] = col
            lo = t_max
        rgb[t >= lo] = pr.colours[-1][1]
        return rgb
    if pr.material == "head":
        q = ((pts - pr.p0[i]) @ pr.axes[i]) / pr.scale_m
        return _head_colours(q, *pr.colours)
    if pr.material == "shoe":
        upper, sole, ankle = pr.colours
        q = ((pts - ankle[i]) @ pr.axes[i]) / pr.scale_m
        rgb = np.broadcast_to(np.asarray(upper, float), pts.shape).copy()
        rgb[q[:, 1] < -0.031] = sole
        return rgb
    raise ValueError(f"unknown material {pr.material!r}")


@dataclass(frozen=True)
class Light:
    """A key light plus sky and ambient terms."""

    key_dir: tuple[float, float, float]
    key: float = 0.62
    sky: float = 0.22
    ambient: float = 0.30


def default_light(cam: Camera) -> Light:
    """Key light from above and slightly to the camera's left, so the visible side is lit."""
    r, _, f = cam.basis
    d = -0.55 * f - 0.35 * r + 0.9 * UP
    return Light(tuple(d / np.linalg.norm(d)))


class Renderer:
    """Renders body frames over a static background for one camera and prop set."""

    def __init__(self, cam: Camera, props: Sequence[Box] = (), room: Room = Room(), light: Light | None = None):
        self.cam = cam
        self.rays = cam.rays()
        self.light = light or default_light(cam)
        self.bg_rgb, self.bg_depth, self.floor_pts = render_background(cam, self.rays, room, props)
        self.floor_mask = np.isfinite(self.floor_pts[..., 0]).astype(np.float32)

    def _bbox(self, pr: Prim, i: int) -> tuple[int, int, int, int] | None:
        los, his = [], []
        for c, rad in pr.bounding_spheres(i):
            px, depth = self.cam.project(c[None])
            if depth[0] <= rad:
                return 0, 0, self.cam.width_px, self.cam.height_px
            rp = self.cam.focal_px * rad / (depth[0] - rad) * 1.05 + 2
            los.append(px[0] - rp)
            his.append(px[0] + rp)
        lo, hi = np.min(los, axis=0), np.max(his, axis=0)
        x0, y0 = max(int(lo[0]), 0), max(int(lo[1]), 0)
        x1, y1 = min(int(np.ceil(hi[0])) + 1, self.cam.width_px), min(int(np.ceil(hi[1])) + 1, self.cam.height_px)
        if x0 >= x1 or y0 >= y1:
            return None
        return x0, y0, x1, y1

    _SHADOW_STEP = 4  # the shadow is smooth: compute it on a 4x coarser grid, then upsample

    def _shadow(self, rgb: np.ndarray, sk_pts: np.ndarray, radii: np.ndarray) -> None:
        """Darken the floor under the body: soft blobs below sample points, fading with height."""
        import cv2  # lazy: only pixel rendering needs OpenCV

        st = self._SHADOW_STEP
        fl = self.floor_pts[st // 2::st, st // 2::st]
        foot = np.concatenate([sk_pts[:, [0]], np.zeros((len(sk_pts), 1)), sk_pts[:, [2]]], axis=1)
        px, _ = self.cam.project(foot)
        pad = 60
        x0, y0 = np.clip((px.min(0) - pad) // st, 0, None).astype(int)
        x1, y1 = ((px.max(0) + pad) // st + 1).astype(int)
        x1, y1 = min(x1, fl.shape[1]), min(y1, fl.shape[0])
        if x0 >= x1 or y0 >= y1:
            return
        sub = fl[y0:y1, x0:x1]
        ok = np.isfinite(sub[..., 0])
        if not ok.any():
            return
        qx, qz = sub[..., 0][ok], sub[..., 2][ok]
        occ = np.zeros(qx.shape)
        for (x, y, z), r in zip(sk_pts, radii):
            sig = r + 0.25 * max(y, 0.0)
            w = 0.55 * np.exp(-max(y - r, 0.0) / 0.35) * (r / sig)
            occ += w * np.exp(((qx - x) ** 2 + (qz - z) ** 2) * (-0.5 / (sig * sig)))
        low = np.zeros(fl.shape[:2], np.float32)
        low[y0:y1, x0:x1][ok] = np.clip(occ, 0, 0.55)
        full = cv2.resize(low, (self.cam.width_px, self.cam.height_px), interpolation=cv2.INTER_LINEAR)
        rgb *= (1.0 - full * self.floor_mask)[..., None]

    def render(self, prims: Sequence[Prim], i: int, shadow_pts: np.ndarray | None = None,
               shadow_radii: np.ndarray | None = None) -> np.ndarray:
        """RGB float image (H,W,3) in 0..1 of frame i."""
        rgb = self.bg_rgb.copy()
        if shadow_pts is not None:
            self._shadow(rgb, shadow_pts, shadow_radii)
        zb = self.bg_depth.copy()
        ro = np.asarray(self.cam.position_m, float)
        L = np.asarray(self.light.key_dir)
        lt = self.light
        for pr in prims:
            box = self._bbox(pr, i)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            rd = self.rays[y0:y1, x0:x1].reshape(-1, 3)
            if pr.kind == "cone":
                t, n = _hit_round_cone(ro, rd, pr.p0[i], pr.p1[i], pr.r0, pr.r1)
            else:
                t, n = _hit_ellipsoid(ro, rd, pr.p0[i], pr.axes[i], pr.semi)
            zsub = zb[y0:y1, x0:x1].reshape(-1)
            win = t < zsub
            if not win.any():
                continue
            idx = np.flatnonzero(win)
            tw, nw = t[idx], n[idx]
            pts = ro + rd[idx] * tw[:, None]
            alb = _prim_colours(pr, i, pts)
            shade = lt.ambient + lt.sky * (0.5 + 0.5 * nw[:, 1]) + lt.key * np.clip(nw @ L, 0, None)
            zsub[idx] = tw
            zb[y0:y1, x0:x1] = zsub.reshape(y1 - y0, x1 - x0)
            sub = rgb[y0:y1, x0:x1].reshape(-1, 3)
            sub[idx] = alb * shade[:, None]
            rgb[y0:y1, x0:x1] = sub.reshape(y1 - y0, x1 - x0, 3)
        return rgb


def finish_image(rgb: np.ndarray, noise: float = 0.0, compression: int | None = None,
                 rng: np.random.Generator | None = None) -> np.ndarray:
    """Float RGB -> uint8 BGR: slight lens blur, sensor noise (sigma in grey levels, 0-255) and JPEG quality."""
    import cv2  # lazy: the truth side of synth needs no OpenCV

    img = np.clip(rgb, 0, 1).astype(np.float32)
    img = cv2.GaussianBlur(img, (3, 3), 0.6)
    if noise > 0:
        rng = rng or np.random.default_rng(0)
        img = img + rng.normal(0.0, noise / 255.0, img.shape).astype(np.float32)
    bgr = cv2.cvtColor((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), cv2.COLOR_RGB2BGR)
    if compression is not None:
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(compression)])
        if ok:
            bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return bgr


def shadow_samples(body: BodyShape, sk: Skeleton) -> tuple[np.ndarray, np.ndarray]:
    """Points (N,K,3) and radii (K,) that cast the soft floor shadow."""
    limb = ("knee", "ankle", "toe", "heel", "hip", "elbow", "wrist", "shoulder")
    names = ["pelvis", "lumbar", "chest", "head"] + [f"{s}_{p}" for s in SIDES for p in limb]
    h = body.height_m
    radii = np.array([0.09, 0.08, 0.10, 0.06] + [0.04, 0.03, 0.03, 0.03, 0.06, 0.03, 0.03, 0.05] * 2) * h / 1.7
    return np.stack([sk.joints[n] for n in names], axis=1), radii



@dataclass(frozen=True)
class Scene:
    """Everything needed to draw a clip: the body, its poses, the props and the camera."""

    body: BodyShape
    pose: "object"  # formcheck.synth.body.Pose with (N,) arrays
    props: tuple[Box, ...]
    camera: Camera
    room: Room = Room()
