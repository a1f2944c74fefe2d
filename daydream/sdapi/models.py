"""The request fields of A1111's ``/sdapi/v1/txt2img`` and ``/img2img``, with A1111's defaults.

A1111 builds its pydantic models from ``StableDiffusionProcessingTxt2Img/Img2Img`` plus a
few API fields; these dicts list the same fields, so ``parameters`` in our answers has the
shape A1111's has, and tests can send exactly what A1111 clients send.
"""

from __future__ import annotations

_COMMON = {
    "prompt": "", "negative_prompt": "", "styles": None, "seed": -1, "subseed": -1,
    "subseed_strength": 0, "seed_resize_from_h": -1, "seed_resize_from_w": -1,
    "sampler_name": None, "scheduler": None, "batch_size": 1, "n_iter": 1, "steps": 50,
    "cfg_scale": 7.0, "width": 512, "height": 512, "restore_faces": None, "tiling": None,
    "do_not_save_samples": False, "do_not_save_grid": False, "eta": None,
    "denoising_strength": 0.75, "s_min_uncond": None, "s_churn": None, "s_tmax": None,
    "s_tmin": None, "s_noise": None, "override_settings": None,
    "override_settings_restore_afterwards": True, "refiner_checkpoint": None,
    "refiner_switch_at": None, "disable_extra_networks": False, "firstpass_image": None,
    "comments": None,
}

_API_EXTRAS = {
    "sampler_index": "Euler", "script_name": None, "script_args": [], "send_images": True,
    "save_images": False, "alwayson_scripts": {}, "force_task_id": None, "infotext": None,
}

TXT2IMG_DEFAULTS = {
    **_COMMON,
    "enable_hr": False, "firstphase_width": 0, "firstphase_height": 0, "hr_scale": 2.0,
    "hr_upscaler": None, "hr_second_pass_steps": 0, "hr_resize_x": 0, "hr_resize_y": 0,
    "hr_checkpoint_name": None, "hr_sampler_name": None, "hr_scheduler": None,
    "hr_prompt": "", "hr_negative_prompt": "",
    **_API_EXTRAS,
}

IMG2IMG_DEFAULTS = {
    **_COMMON,
    "init_images": None, "resize_mode": 0, "image_cfg_scale": None, "mask": None,
    "mask_blur_x": 4, "mask_blur_y": 4, "mask_blur": None, "mask_round": True,
    "inpainting_fill": 0, "inpaint_full_res": True, "inpaint_full_res_padding": 0,
    "inpainting_mask_invert": 0, "initial_noise_multiplier": None, "latent_mask": None,
    "include_init_images": False,
    **_API_EXTRAS,
}

# API fields Daydream reads or that change nothing here; the generation parameters' own
# A1111 names come from ``generation.request`` (see ``sdapi.mapping.used_fields``).
USED = {"seed", "sampler_name", "sampler_index", "scheduler", "batch_size", "n_iter",
        "init_images", "send_images", "include_init_images", "script_name", "mask",
        "script_args", "save_images", "do_not_save_samples", "do_not_save_grid",
        "force_task_id", "infotext", "comments"}

# The A1111 sampler "scheduler" (noise schedule) types Daydream's sampler names cover.
SCHEDULE_TYPES = [
    {"name": "automatic", "label": "Automatic", "aliases": None, "default_rho": -1.0,
     "need_inner_model": False},
    {"name": "karras", "label": "Karras", "aliases": None, "default_rho": 7.0,
     "need_inner_model": False},
]

# Old-style names A1111 lists as sampler aliases (kept when Daydream understands them).
SAMPLER_ALIASES = {
    "Euler a": ["k_euler_a", "k_euler_ancestral"], "Euler": ["k_euler"], "LMS": ["k_lms"],
    "LMS Karras": ["k_lms_ka"], "DPM++ 2M": ["k_dpmpp_2m"],
    "DPM++ 2M Karras": ["k_dpmpp_2m_ka"], "DPM++ 2M SDE": ["k_dpmpp_2m_sde"],
    "DPM++ 2M SDE Karras": ["k_dpmpp_2m_sde_ka"], "DDIM": ["ddim"], "PLMS": ["plms"],
    "UniPC": ["unipc"],
}
